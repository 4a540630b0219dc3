"""Handover to the carrier (docs/architecture.md, "Handover to the carrier"): carriers' tracking-number
patterns, the station's scanning rules with each refusal's message, the manifest page and its Excel
copy, and confirming a batch, which dispatches every parcel in it or none."""

import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from core.actors import SYSTEM
from core.transitions import TransitionRefused
from logistics import services as logistics
from logistics.forms import CarrierForm
from logistics.models import Carrier, HandoverBatch, HandoverParcel, Shipment
from logistics.tracking_formats import DEFAULT_PATTERNS, fits
from orders.models import Order
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_concurrency import assert_stock_consistent

pytestmark = pytest.mark.django_db

# Numbers of each carrier's current form (docs in logistics/tracking_formats.py).
SAMPLES = {
    "sf": ["SF1234567890123", "SF0000000000001"],
    "zto": ["731234567890", "75123456789012"],
    "yto": ["YT1234567890123"],
    "sto": ["773123456789012", "268123456789", "888123456789"],
    "yunda": ["4312345678901", "3123456789012", "462598779470531"],
    "jd": ["JDVA11408814483", "JDX123456789012"],
    "ems": ["EA123456789CN", "1012345678901", "9812345678901"],
}
SF_NUMBER, ZTO_NUMBER = "SF1234567890123", "731234567890"


# Patterns -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", SAMPLES)
def test_each_default_pattern_takes_its_own_numbers_and_none_of_the_others(code):
    for number in SAMPLES[code]:
        assert fits(DEFAULT_PATTERNS[code], number), number
        assert [other for other, pattern in DEFAULT_PATTERNS.items() if fits(pattern, number)] == [code]


def test_every_default_pattern_has_samples():
    assert set(SAMPLES) == set(DEFAULT_PATTERNS)


@pytest.mark.parametrize("number", ["SF12345", "sf1234567890123", "SF1234567890123 ", "", "1234567890123456789"])
def test_numbers_of_no_carrier_fit_no_default_pattern(number):
    assert not any(fits(pattern, number) for pattern in DEFAULT_PATTERNS.values())


def test_a_new_carrier_of_a_known_code_starts_with_its_pattern_and_others_with_none():
    assert Carrier.objects.create(code="zto", name="ZTO").tracking_number_pattern == DEFAULT_PATTERNS["zto"]
    assert Carrier.objects.create(code="local", name="Local courier").tracking_number_pattern == ""
    assert Carrier.objects.create(code="ems", name="EMS", tracking_number_pattern=r"E\d+").tracking_number_pattern == (
        r"E\d+"
    )


def test_the_data_migration_fills_the_pattern_of_existing_carriers_by_code():
    Carrier.objects.bulk_create(
        [Carrier(code="yunda", name="Yunda"), Carrier(code="jd", name="JD", tracking_number_pattern=r"JD\d+")]
    )
    Carrier.objects.create(code="other", name="Other")
    migration = importlib.import_module("logistics.migrations.0008_handover")

    migration.fill_default_patterns(apps, None)

    patterns = dict(Carrier.objects.values_list("code", "tracking_number_pattern"))
    assert patterns == {"yunda": DEFAULT_PATTERNS["yunda"], "jd": r"JD\d+", "other": ""}


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("SF(\\d{13}", "This is not a valid regular expression"),
        ("[A-Z", "This is not a valid regular expression"),
        ("\\d*", "The pattern must not match an empty tracking number."),
    ],
)
def test_the_carrier_form_refuses_a_pattern_that_is_not_a_usable_regular_expression(pattern, message):
    form = CarrierForm(data={"code": "sf", "name": "SF Express", "tracking_number_pattern": pattern, "active": True})

    assert not form.is_valid()
    assert message in " ".join(form.errors["tracking_number_pattern"])


def test_a_coordinator_edits_a_carriers_pattern_in_the_console():
    carrier = CarrierFactory()
    client = Client()
    client.force_login(staff("Logistics coordinator"))
    url = reverse("admin:logistics_carrier_change", args=[carrier.pk])
    data = {
        "code": "sf",
        "name": "SF Express",
        "tracking_url_template": carrier.tracking_url_template,
        "tracking_number_pattern": r"SF\d{12,13}",
        "active": "on",
        "services-TOTAL_FORMS": "0",
        "services-INITIAL_FORMS": "0",
    }

    refused = client.post(url, {**data, "tracking_number_pattern": "SF("})
    saved = client.post(url, data)

    assert "This is not a valid regular expression" in refused.content.decode()
    assert saved.status_code == 302
    carrier.refresh_from_db()
    assert carrier.tracking_number_pattern == r"SF\d{12,13}"


# The station's rules --------------------------------------------------------------------------------


@pytest.fixture
def level():
    return stock(ProductFactory(unit_price=Decimal("25.00")), WarehouseFactory(), 50)


@pytest.fixture
def sf():
    return CarrierFactory()


@pytest.fixture
def zto():
    return CarrierFactory(code="zto", name="ZTO Express", tracking_url_template="")


@pytest.fixture
def operator():
    return staff("Warehouse operator")


def packed_parcel(level, carrier, number, *, to_status="packed", **order):
    """A parcel of a new order, packed (or as far as `to_status`), with the carrier's number on its label."""
    placed = place_apart(lines=[(level.product, 2)], **order)
    placed = advance(placed, to_status)
    shipment = placed.shipments.get()
    logistics.assign_tracking_number(shipment.pk, carrier.pk, number, actor=SYSTEM)
    shipment.refresh_from_db()
    return shipment


def refusal(call):
    with pytest.raises((ValidationError, TransitionRefused)) as refused:
        call()
    error = refused.value
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def test_a_packed_parcel_of_the_carrier_is_scanned_into_its_batch(level, sf, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    scanned = logistics.scan_into_batch(batch.pk, f"  {SF_NUMBER}\n", actor=operator)

    assert (scanned.batch, scanned.shipment, scanned.scanned_by) == (batch, parcel, operator)
    assert batch.opened_by == operator and batch.is_open


def test_another_carriers_number_is_refused_naming_that_carrier(level, sf, zto, operator):
    packed_parcel(level, zto, ZTO_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, ZTO_NUMBER, actor=operator))

    assert message == (
        f"{ZTO_NUMBER} is a ZTO Express tracking number, not SF Express: keep that parcel for ZTO Express's driver."
    )
    assert not HandoverParcel.objects.exists()


def test_a_number_that_fits_no_pattern_of_the_carrier_is_refused(sf, operator):
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, "ABC-123", actor=operator))

    assert message == "ABC-123 does not look like a SF Express tracking number: check the label."


def test_a_number_unknown_to_us_is_refused(sf, operator):
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, "SF9999999999999", actor=operator))

    assert message == "No parcel of ours has the SF Express tracking number SF9999999999999."


def test_an_empty_scan_is_refused(sf, operator):
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    assert refusal(lambda: logistics.scan_into_batch(batch.pk, "  ", actor=operator)) == (
        "Scan the tracking number on the parcel's label."
    )


def test_a_parcel_scanned_twice_into_one_batch_is_refused_the_second_time(level, sf, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator))

    assert message == f"{SF_NUMBER} (order {parcel.order.number}) is already in this batch."
    assert batch.parcels.count() == 1


def test_a_parcel_in_another_open_batch_is_refused_naming_that_batch(level, sf, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER)
    first = logistics.open_handover_batch(sf.pk, actor=operator)
    second = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(first.pk, SF_NUMBER, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(second.pk, SF_NUMBER, actor=operator))

    assert message == (
        f"{SF_NUMBER} (order {parcel.order.number}) is already in handover {first.pk}: remove it there first."
    )


def test_a_parcel_not_packed_yet_is_refused(level, sf, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER, to_status="picking")
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator))

    assert message == (
        f"The parcel of order {parcel.order.number} is Waiting to be packed: only a packed parcel is handed over."
    )


def test_a_parcel_already_dispatched_is_refused(level, sf, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER)
    logistics.dispatch(parcel.pk, actor=operator)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator))

    assert "is Shipped: only a packed parcel is handed over." in message


def test_a_carrier_without_a_pattern_still_refuses_another_carriers_parcel(level, sf, operator):
    local = CarrierFactory(code="local", name="Local courier", tracking_url_template="")
    parcel = packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(local.pk, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator))

    assert message == f"{SF_NUMBER} is on the parcel of order {parcel.order.number} for SF Express, not Local courier."


def test_a_parcel_is_removed_from_the_open_batch_and_may_be_scanned_into_another(level, sf, operator):
    packed_parcel(level, sf, SF_NUMBER)
    first = logistics.open_handover_batch(sf.pk, actor=operator)
    second = logistics.open_handover_batch(sf.pk, actor=operator)
    scanned = logistics.scan_into_batch(first.pk, SF_NUMBER, actor=operator)

    logistics.remove_from_batch(first.pk, scanned.pk, actor=operator)

    assert not first.parcels.exists()
    assert logistics.scan_into_batch(second.pk, SF_NUMBER, actor=operator).batch == second
    assert refusal(lambda: logistics.remove_from_batch(first.pk, scanned.pk, actor=operator)) == (
        "That parcel is no longer in this batch."
    )


def test_opening_a_batch_needs_an_active_carrier_and_the_permission(sf):
    inactive = CarrierFactory(code="yto", name="YTO", active=False)

    assert refusal(lambda: logistics.open_handover_batch(inactive.pk, actor=staff("Warehouse operator"))) == (
        "Choose an active carrier."
    )
    with pytest.raises(PermissionDenied, match="may not hand parcels over"):
        logistics.open_handover_batch(sf.pk, actor=staff("Finance"))


# Confirming ----------------------------------------------------------------------------------------


def test_confirming_dispatches_every_parcel_of_the_batch_at_once(level, sf, operator):
    parcels = [packed_parcel(level, sf, number) for number in ("SF1000000000001", "SF1000000000002")]
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    for parcel in parcels:
        logistics.scan_into_batch(batch.pk, parcel.tracking_number, actor=operator)

    dispatched = logistics.confirm_batch(batch.pk, actor=operator)

    assert [shipment.pk for shipment in dispatched] == [parcel.pk for parcel in parcels]
    for parcel in parcels:
        parcel.refresh_from_db()
        assert (parcel.status, parcel.dispatched_by) == (Shipment.Status.SHIPPED, operator)
        assert Order.objects.get(pk=parcel.order_id).status == Order.Status.SHIPPED
    batch.refresh_from_db()
    assert not batch.is_open and batch.dispatched_by == operator
    assert level.product.stock_levels.get().on_hand == 46
    assert_stock_consistent()
    assert "was dispatched at" in refusal(lambda: logistics.confirm_batch(batch.pk, actor=operator))
    assert "was dispatched at" in refusal(lambda: logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator))


def test_a_batch_with_a_parcel_that_cannot_leave_dispatches_nothing(level, sf, operator):
    first, second = (packed_parcel(level, sf, number) for number in ("SF1000000000001", "SF1000000000002"))
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    for parcel in (first, second):
        logistics.scan_into_batch(batch.pk, parcel.tracking_number, actor=operator)
    logistics.dispatch(second.pk, actor=operator)

    message = refusal(lambda: logistics.confirm_batch(batch.pk, actor=operator))

    assert message.startswith(f"SF1000000000002 (order {second.order.number}) cannot leave:")
    first.refresh_from_db()
    batch.refresh_from_db()
    assert first.status == Shipment.Status.PACKED and batch.is_open
    assert_stock_consistent()


def test_an_empty_batch_is_not_confirmed(sf, operator):
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    assert refusal(lambda: logistics.confirm_batch(batch.pk, actor=operator)) == (
        "The batch is empty: scan the parcels the driver takes first."
    )


# The console: station, manifest and Excel -------------------------------------------------------


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def url(name, batch=None):
    return reverse(f"admin:logistics_handoverbatch_{name}", args=[batch.pk] if batch else [])


def test_the_station_takes_scans_as_json_and_as_plain_posts(level, sf, zto, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER)
    client = signed_in(operator)
    opened = client.post(url("open"), {"carrier": sf.pk})
    batch = HandoverBatch.objects.get()
    assert opened.url == url("station", batch)
    empty = client.get(url("station", batch)).content.decode()
    # The confirmation waits, hidden, for the first parcel: the page's script shows it then.
    assert "data-handover-confirm-form hidden" in empty

    refused = client.post(url("scan", batch), {"tracking_number": ZTO_NUMBER}, headers={"accept": "application/json"})
    accepted = client.post(url("scan", batch), {"tracking_number": SF_NUMBER}, headers={"accept": "application/json"})
    again = client.post(url("scan", batch), {"tracking_number": SF_NUMBER}, follow=True)

    assert refused.status_code == 200 and refused.json()["accepted"] is False
    assert "is a ZTO Express tracking number" in refused.json()["message"]
    answer = accepted.json()
    assert answer["accepted"] is True and answer["count"] == 1
    assert parcel.order.number in answer["row"] and "杭州市" in answer["row"]
    assert "is already in this batch" in again.content.decode()
    page = client.get(url("station", batch)).content.decode()
    assert SF_NUMBER in page and "data-handover-confirm-form>" in page


def test_the_manifest_prints_every_parcel_with_what_the_driver_collects(level, sf, operator):
    parcels = [packed_parcel(level, sf, number) for number in ("SF1000000000001", "SF1000000000002")]
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    for parcel in parcels:
        logistics.scan_into_batch(batch.pk, parcel.tracking_number, actor=operator)

    page = signed_in(operator).get(url("manifest", batch)).content.decode()

    assert "Handover manifest" in page and "SF Express" in page and "2 parcels" in page
    for parcel in parcels:
        order = Order.objects.get(pk=parcel.order_id)
        assert parcel.tracking_number in page and order.number in page
        assert f"CNY {order.total}" in page
    assert "杭州市" in page and "1.200" in page
    assert "Received by (driver), signature" in page and "Handed over by (warehouse)" in page


def test_the_manifest_exports_to_excel(level, sf, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator)

    response = signed_in(operator).get(url("excel", batch))

    assert response["Content-Disposition"] == f'attachment; filename="handover-{batch.pk}-sf.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    order = Order.objects.get(pk=parcel.order_id)
    assert rows[0] == ("Tracking number", "Orders", "City", "Weight (kg)", "Packages", "Cash on delivery", "Currency")
    assert rows[1] == (SF_NUMBER, order.number, "杭州市", 1.2, 1, float(order.total), "CNY")


def test_confirming_from_the_station_dispatches_the_batch(level, sf, operator):
    packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator)

    page = signed_in(operator).post(url("confirm", batch), follow=True).content.decode()

    assert "1 parcel dispatched with SF Express." in page
    assert Shipment.objects.get().status == Shipment.Status.SHIPPED


@pytest.mark.parametrize("role", ["Warehouse operator", "Logistics coordinator", "Manager"])
def test_the_roles_that_hand_over_use_the_station(role, sf):
    client = signed_in(staff(role))

    assert client.get(url("changelist")).status_code == 200
    assert client.post(url("open"), {"carrier": sf.pk}).status_code == 302


@pytest.mark.parametrize("role", ["Finance", "Customer service", "Analyst"])
def test_other_roles_do_not_use_the_station(role, sf):
    batch = logistics.open_handover_batch(sf.pk, actor=SYSTEM)
    client = signed_in(staff(role))

    assert client.get(url("station", batch)).status_code == 403
    assert client.post(url("open"), {"carrier": sf.pk}).status_code == 403
    assert client.get(url("changelist")).status_code == 403


def test_a_number_two_carriers_both_issued_finds_the_batch_carriers_parcel(level, sf, operator):
    local = CarrierFactory(code="local", name="Local courier", tracking_url_template="")
    packed_parcel(level, local, SF_NUMBER)
    ours = packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)

    assert logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator).shipment == ours


# Discarding a batch -------------------------------------------------------------------------------


def test_an_open_batch_is_discarded_and_its_parcels_go_into_another(level, sf, operator):
    parcel = packed_parcel(level, sf, SF_NUMBER)
    first = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(first.pk, SF_NUMBER, actor=operator)

    freed = logistics.discard_batch(first.pk, actor=operator)

    assert freed == [parcel]
    assert not HandoverBatch.objects.filter(pk=first.pk).exists() and not HandoverParcel.objects.exists()
    second = logistics.open_handover_batch(sf.pk, actor=operator)
    assert logistics.scan_into_batch(second.pk, SF_NUMBER, actor=operator).batch == second
    assert Shipment.objects.get().status == Shipment.Status.PACKED


def test_a_dispatched_batch_is_not_discarded(level, sf, operator):
    packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator)
    logistics.confirm_batch(batch.pk, actor=staff("Manager"))

    message = refusal(lambda: logistics.discard_batch(batch.pk, actor=operator))

    assert message.startswith(f"Handover {batch.pk} was dispatched at ")
    assert HandoverParcel.objects.filter(batch=batch).count() == 1


def test_a_discarded_batch_takes_no_more_scans(level, sf, operator):
    packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.discard_batch(batch.pk, actor=operator)

    message = refusal(lambda: logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator))

    assert message == f"There is no handover batch {batch.pk}."


@pytest.mark.parametrize("role", ["Finance", "Customer service", "Analyst"])
def test_only_the_roles_that_hand_over_discard_a_batch(role, sf):
    batch = logistics.open_handover_batch(sf.pk, actor=SYSTEM)

    with pytest.raises(PermissionDenied):
        logistics.discard_batch(batch.pk, actor=staff(role))

    assert HandoverBatch.objects.filter(pk=batch.pk).exists()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_station_discards_its_open_batch(level, sf, operator, language):
    packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator)
    client = signed_in(operator)
    client.cookies["django_language"] = language

    station = client.get(url("station", batch), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    response = client.post(url("discard", batch), HTTP_ACCEPT_LANGUAGE=language)

    assert "data-handover-discard" in station and url("discard", batch) in station
    assert response.status_code == 302 and response.url == url("changelist")
    assert not HandoverBatch.objects.exists()
    if language == "en":
        page = client.get(response.url).content.decode()
        assert f"Handover {batch.pk} is discarded: its 1 parcel may go into another batch." in page


def test_a_dispatched_batch_offers_no_discard_and_refuses_one_posted(level, sf, operator):
    packed_parcel(level, sf, SF_NUMBER)
    batch = logistics.open_handover_batch(sf.pk, actor=operator)
    logistics.scan_into_batch(batch.pk, SF_NUMBER, actor=operator)
    logistics.confirm_batch(batch.pk, actor=staff("Manager"))
    client = signed_in(operator)

    station = client.get(url("station", batch)).content.decode()
    page = client.post(url("discard", batch), follow=True).content.decode()

    assert "data-handover-discard" not in station
    assert f"Handover {batch.pk} was dispatched at" in page
    assert HandoverBatch.objects.filter(pk=batch.pk).exists()


# Tracking numbers entered anywhere fit their carrier's pattern ---------------------------------------


def test_the_tracking_number_form_refuses_a_number_of_another_carrier_on_its_field(level, sf, zto):
    parcel = advance(place_apart(lines=[(level.product, 1)]), "packed").shipments.get()
    client = signed_in(staff("Logistics coordinator"))

    response = client.post(
        reverse("admin:logistics_shipment_tracking_number", args=[parcel.pk]),
        {"carrier": sf.pk, "tracking_number": ZTO_NUMBER},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["tracking_number"] == [
        f"{ZTO_NUMBER} is a ZTO Express tracking number, not SF Express."
    ]
    parcel.refresh_from_db()
    assert parcel.tracking_number == ""


def test_a_number_that_fits_no_pattern_of_the_carrier_is_refused_when_assigned(level, sf):
    parcel = advance(place_apart(lines=[(level.product, 1)]), "packed").shipments.get()

    with pytest.raises(ValidationError) as refused:
        logistics.assign_tracking_number(parcel.pk, sf.pk, "SF12345", actor=SYSTEM)

    assert refused.value.message_dict == {
        "tracking_number": ["SF12345 does not look like a SF Express tracking number: check it against the label."]
    }


def test_a_carrier_without_a_pattern_takes_any_number(level):
    local = CarrierFactory(code="local", name="Local courier", tracking_url_template="")
    parcel = advance(place_apart(lines=[(level.product, 1)]), "packed").shipments.get()

    assert logistics.assign_tracking_number(parcel.pk, local.pk, "A-1", actor=SYSTEM).tracking_number == "A-1"


def test_the_dispatch_form_refuses_an_ill_fitting_number_and_dispatches_nothing(level, sf, zto):
    order = advance(place_apart(lines=[(level.product, 1)]), "packed")
    parcel = order.shipments.get()
    client = signed_in(staff("Warehouse operator"))

    response = client.post(
        reverse("admin:logistics_shipment_dispatch", args=[order.pk]),
        {
            "shipment": parcel.pk,
            f"parcel-{parcel.pk}-carrier": zto.pk,
            f"parcel-{parcel.pk}-tracking_number": SF_NUMBER,
        },
    )

    assert response.status_code == 200
    form = response.context["parcels"][0]["form"]
    assert form.errors["tracking_number"] == [f"{SF_NUMBER} is a SF Express tracking number, not ZTO Express."]
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (Shipment.Status.PACKED, "")


def test_a_dispatch_sheet_names_the_row_and_column_of_an_ill_fitting_number(level, sf, zto):
    first, second = (advance(place_apart(lines=[(level.product, 1)]), "packed") for _ in range(2))
    rows = [
        {"row": 2, "order_number": first.number, "carrier": "sf", "tracking_number": SF_NUMBER},
        {"row": 3, "order_number": second.number, "carrier": "zto", "tracking_number": SF_NUMBER},
    ]

    with pytest.raises(ValidationError) as refused:
        logistics.dispatch_by_upload(rows, actor=staff("Warehouse operator"))

    assert refused.value.problems == [
        (3, "tracking_number", f"{SF_NUMBER} is a SF Express tracking number, not ZTO Express.")
    ]
    assert not Shipment.objects.filter(status=Shipment.Status.SHIPPED).exists()
