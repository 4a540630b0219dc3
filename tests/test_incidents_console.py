"""The incident console (docs/architecture.md, "Incidents"): a manager declares an incident, takes a
step of its plan and closes it through the pages; other roles see none of it; the risk register
lists and keeps risks."""

import pytest

from incidents.models import Incident, IncidentAction, Risk
from orders.models import Channel
from tests.factories import ChannelFactory, WarehouseFactory, staff

pytestmark = pytest.mark.django_db

ADD = "/admin/incidents/incident/add/"


@pytest.fixture
def manager_client(client):
    client.force_login(staff("Manager", username="mia"))
    return client


def declare(client, kind="channel_bad_orders", title="Marketplace sends zero prices"):
    response = client.post(ADD, {"kind": kind, "title": title, "description": "Prices of 0.00 since 9:00."})
    assert response.status_code == 302
    return Incident.objects.get(title=title)


def test_a_manager_declares_holds_a_channel_and_closes_through_the_pages(manager_client):
    channel = ChannelFactory()
    incident = declare(manager_client)

    page = manager_client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert page.status_code == 200
    assert "Hold a channel&#x27;s new orders" in page.content.decode()
    response = manager_client.post(
        f"/admin/incidents/incident/{incident.pk}/step/hold_channel/", {"hold_channel-channel": channel.pk}
    )
    assert response.status_code == 302
    assert Channel.objects.get(pk=channel.pk).intake_held_because.startswith(incident.number)
    page = manager_client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "Held the new orders of Web shop for review." in page

    response = manager_client.post(f"/admin/incidents/incident/{incident.pk}/close/", {"note": "Feed fixed."})
    assert response.status_code == 302
    assert Channel.objects.get(pk=channel.pk).intake_held_because == ""
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLOSED
    page = manager_client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "Closed the incident. Feed fixed." in page and "Close incident" not in page


def test_a_refused_step_shows_the_reason_on_its_form_and_records_nothing(manager_client):
    warehouse = WarehouseFactory(code="HZ")
    incident = declare(manager_client, kind="warehouse_closed", title="Hangzhou flooded")

    response = manager_client.post(
        f"/admin/incidents/incident/{incident.pk}/step/move_work/",
        {"move_work-warehouse": warehouse.pk, "move_work-to_warehouse": warehouse.pk},
    )

    assert response.status_code == 200
    assert "Choose another warehouse than the one whose work moves." in response.content.decode()
    assert list(incident.actions.values_list("kind", flat=True)) == [IncidentAction.Kind.DECLARED]


def test_the_incident_page_speaks_chinese_to_a_chinese_manager(manager_client):
    incident = declare(manager_client)

    page = manager_client.get(
        f"/admin/incidents/incident/{incident.pk}/change/", headers={"accept-language": "zh-hans"}
    )

    assert page.status_code == 200
    assert page.headers["Content-Language"] == "zh-hans"


@pytest.mark.parametrize("role", ["Order reviewer", "Warehouse operator", "Logistics coordinator", "Customer service"])
def test_other_roles_may_neither_declare_nor_see_incidents(client, role):
    client.force_login(staff(role))

    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"kind": "other", "title": "Mine"}).status_code == 403
    assert client.get("/admin/incidents/incident/").status_code == 403
    assert not Incident.objects.exists()


def test_the_risk_register_keeps_a_risk_and_lists_it_by_score_with_its_plan_linked(manager_client):
    owner = staff("Logistics coordinator", username="leo")

    response = manager_client.post(
        "/admin/incidents/risk/add/",
        {
            "title": "Carrier strike",
            "likelihood": "3",
            "impact": "5",
            "owner": owner.pk,
            "plan": "carrier_down",
            "response": "Switch to YTO.",
        },
    )

    assert response.status_code == 302
    risk = Risk.objects.get()
    assert (risk.score, risk.owner) == (15, owner)
    listing = manager_client.get("/admin/incidents/risk/").content.decode()
    assert "/admin/incidents/incident/add/?kind=carrier_down" in listing
    assert ">15<" in listing


def test_a_risk_with_a_missing_plan_is_shown_again_with_the_field_named(manager_client):
    response = manager_client.post(
        "/admin/incidents/risk/add/", {"title": "Flood", "likelihood": "2", "impact": "4", "owner": "", "plan": ""}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"owner", "plan"}
    assert not Risk.objects.exists()


def test_a_hold_shows_on_the_channel_and_warehouse_pages_and_cannot_be_edited_there(manager_client):
    channel = ChannelFactory()
    warehouse = WarehouseFactory(code="HZ")
    incident = declare(manager_client)
    manager_client.post(
        f"/admin/incidents/incident/{incident.pk}/step/hold_channel/", {"hold_channel-channel": channel.pk}
    )

    page = manager_client.get(f"/admin/orders/channel/{channel.pk}/change/").content.decode()
    assert incident.number in page and 'name="intake_held_because"' not in page
    manager_client.post(
        f"/admin/orders/channel/{channel.pk}/change/",
        {"code": channel.code, "name": channel.name, "kind": channel.kind, "active": "on", "intake_held_because": ""},
    )
    assert Channel.objects.get(pk=channel.pk).intake_held_because.startswith(incident.number)
    page = manager_client.get(f"/admin/inventory/warehouse/{warehouse.pk}/change/").content.decode()
    assert 'name="picking_paused_because"' not in page and 'name="reservations_paused_because"' not in page
