"""Lost parcels in the console (docs/architecture.md, "Lost parcels"): filing a claim from the parcel's
page, the claim's page with the carrier's answer, its payment and documents, the list with its
filters and Excel export, documents served only to those who may see claims, and the replacement
sent from the parcel's page."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from logistics import services as logistics
from logistics.models import CarrierClaim, ParcelReplacement, Shipment
from tests.factories import staff
from tests.test_lost_parcels import PDF, lost_parcel_of, shipped_order
from tests.test_lost_parcels import claim_documents_root as claim_documents_root  # noqa: F401 - autouse fixture
from tests.test_lost_parcels import level as level  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

CLAIMS = reverse("admin:logistics_carrierclaim_changelist")


def signed_in(role):
    client = Client()
    user = staff(role)
    client.force_login(user)
    return client, user


def claim_page(claim):
    return reverse("admin:logistics_carrierclaim_claim", args=[claim.pk])


@pytest.fixture
def lost(level):  # noqa: F811 - the fixture imported above
    return lost_parcel_of(shipped_order(level, 2))


def test_the_lost_parcels_page_offers_a_claim_and_a_replacement_to_a_coordinator(lost):
    client, _user = signed_in("Logistics coordinator")

    page = client.get(reverse("admin:logistics_shipment_change", args=[lost.pk])).content.decode()

    assert reverse("admin:logistics_carrierclaim_file", args=[lost.pk]) in page
    assert reverse("admin:logistics_carrierclaim_replace", args=[lost.pk]) in page


def test_the_lost_parcels_page_offers_neither_to_a_warehouse_operator(lost):
    client, _user = signed_in("Warehouse operator")

    page = client.get(reverse("admin:logistics_shipment_change", args=[lost.pk])).content.decode()

    assert "oc-lost-parcel" in page
    assert reverse("admin:logistics_carrierclaim_file", args=[lost.pk]) not in page
    assert reverse("admin:logistics_carrierclaim_replace", args=[lost.pk]) not in page


def test_filing_a_claim_from_its_page_starts_from_the_goods_value(lost):
    client, user = signed_in("Logistics coordinator")
    url = reverse("admin:logistics_carrierclaim_file", args=[lost.pk])

    form = client.get(url).context["form"]
    assert form.initial["amount"] == Decimal("119.80")
    response = client.post(url, {"amount": "119.80", "carrier_reference": "SF-9", "note": ""})

    claim = CarrierClaim.objects.get()
    assert response.status_code == 302 and response["Location"] == claim_page(claim)
    assert (claim.claimed_amount, claim.carrier_reference, claim.filed_by) == (Decimal("119.80"), "SF-9", user)


def test_a_wrong_amount_is_shown_on_its_field(lost):
    client, _user = signed_in("Logistics coordinator")

    response = client.post(reverse("admin:logistics_carrierclaim_file", args=[lost.pk]), {"amount": "abc"})

    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == ["Enter an amount such as 128.50."]
    assert not CarrierClaim.objects.exists()


def test_the_carriers_answer_and_payment_are_recorded_on_the_claims_page(lost):
    claim = logistics.file_claim(lost.pk, actor=staff("Logistics coordinator"))
    coordinator, _user = signed_in("Logistics coordinator")
    finance, _user = signed_in("Finance")

    coordinator.post(
        reverse("admin:logistics_carrierclaim_accept", args=[claim.pk]),
        {"settled_amount": "100.00", "carrier_reference": "", "note": "Capped"},
    )
    page = finance.get(claim_page(claim)).content.decode()
    assert "100.00" in page and reverse("admin:logistics_carrierclaim_paid", args=[claim.pk]) in page
    finance.post(reverse("admin:logistics_carrierclaim_paid", args=[claim.pk]))

    claim.refresh_from_db()
    assert (claim.status, claim.settled_amount) == (CarrierClaim.Status.PAID, Decimal("100.00"))


def test_a_settlement_above_the_claim_is_refused_on_its_field(lost):
    claim = logistics.file_claim(lost.pk, amount="50.00", actor=staff("Logistics coordinator"))
    client, _user = signed_in("Logistics coordinator")

    response = client.post(reverse("admin:logistics_carrierclaim_accept", args=[claim.pk]), {"settled_amount": "60.00"})

    assert response.status_code == 200
    assert "cannot settle more than" in str(response.context["accept_form"].errors["settled_amount"])


def test_a_document_is_served_as_a_download_only_to_those_who_may_see_claims(lost):
    claim = logistics.file_claim(lost.pk, actor=staff("Logistics coordinator"))
    coordinator, _user = signed_in("Logistics coordinator")
    coordinator.post(
        reverse("admin:logistics_carrierclaim_attach", args=[claim.pk]),
        {"file": SimpleUploadedFile("loss.pdf", PDF, content_type="application/pdf")},
    )
    document = claim.documents.get()
    url = reverse("admin:logistics_carrierclaim_document", args=[document.pk])

    finance, _user = signed_in("Finance")
    download = finance.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"

    operator, _user = signed_in("Warehouse operator")
    assert operator.get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_a_document_of_the_wrong_type_is_refused_on_the_page(lost):
    claim = logistics.file_claim(lost.pk, actor=staff("Logistics coordinator"))
    client, _user = signed_in("Logistics coordinator")

    response = client.post(
        reverse("admin:logistics_carrierclaim_attach", args=[claim.pk]),
        {"file": SimpleUploadedFile("loss.pdf", b"MZ\x90\x00 not a pdf")},
    )

    assert response.status_code == 200
    assert response.context["attach_form"].errors["file"] == ["Attach a PDF, JPEG or PNG file."]
    assert not claim.documents.exists()


@pytest.mark.parametrize(("role", "status"), [("Finance", 200), ("Logistics coordinator", 200), ("Analyst", 403)])
def test_who_sees_the_claims_list(lost, role, status):
    logistics.file_claim(lost.pk, actor=staff("Logistics coordinator"))
    client, _user = signed_in(role)

    assert client.get(CLAIMS).status_code == status


def test_the_claims_list_filters_by_status_and_shows_what_was_settled(level):  # noqa: F811
    coordinator = staff("Logistics coordinator")
    settled = logistics.file_claim(lost_parcel_of(shipped_order(level, 1)).pk, actor=coordinator)
    logistics.accept_claim(settled.pk, settled_amount="41.00", actor=coordinator)
    open_claim = logistics.file_claim(lost_parcel_of(shipped_order(level, 1)).pk, actor=coordinator)
    client, _user = signed_in("Finance")

    page = client.get(CLAIMS, {"status__exact": "accepted"}).content.decode()

    assert claim_page(settled) in page and claim_page(open_claim) not in page
    assert "41.00" in page


def test_the_claims_list_exports_to_excel(level):  # noqa: F811
    coordinator = staff("Logistics coordinator")
    claim = logistics.file_claim(lost_parcel_of(shipped_order(level, 1)).pk, actor=coordinator)
    logistics.accept_claim(claim.pk, settled_amount="50.00", actor=coordinator)
    client, _user = signed_in("Finance")

    response = client.post(
        reverse("admin:logistics_carrierclaim_export"), {"file_format": "xlsx", "kind": "export_carrier_claims"}
    )

    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = [list(row) for row in load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True)]
    header = rows[0]
    assert rows[1][header.index("Amount claimed")] == 59.9
    assert rows[1][header.index("Amount settled")] == 50
    assert rows[1][header.index("Status")] == "Accepted"


def test_sending_again_from_the_parcels_page_opens_the_replacement_and_a_second_click_is_told(lost):
    client, _user = signed_in("Logistics coordinator")
    url = reverse("admin:logistics_carrierclaim_replace", args=[lost.pk])

    response = client.post(url)
    replacement = ParcelReplacement.objects.get()
    assert response["Location"] == reverse("admin:logistics_shipment_change", args=[replacement.parcel_id])
    page = client.get(response["Location"]).content.decode()
    assert reverse("admin:logistics_shipment_change", args=[lost.pk]) in page

    again = client.post(url, follow=True)
    assert "already been sent again" in again.content.decode()
    assert Shipment.objects.filter(purpose=Shipment.Purpose.REPLACEMENT).count() == 1


def test_a_warehouse_operator_cannot_send_a_parcel_again(lost):
    client, _user = signed_in("Warehouse operator")

    assert client.post(reverse("admin:logistics_carrierclaim_replace", args=[lost.pk])).status_code == 403
    assert not ParcelReplacement.objects.exists()


def test_the_exceptions_queue_says_whether_a_lost_parcel_is_claimed_and_sent_again(lost):
    coordinator = staff("Logistics coordinator")
    claim = logistics.file_claim(lost.pk, actor=coordinator)
    replacement = logistics.send_replacement(lost.pk, actor=coordinator)
    client, _user = signed_in("Logistics coordinator")

    page = client.get(reverse("admin:logistics_shipment_exceptions"), {"kind": "lost"}).content.decode()

    assert f"{claim} · Filed" in page
    assert reverse("admin:logistics_shipment_change", args=[replacement.parcel_id]) in page


def test_the_claims_list_costs_the_same_queries_for_one_claim_as_for_three(level):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    coordinator = staff("Logistics coordinator")
    client, _user = signed_in("Finance")
    logistics.file_claim(lost_parcel_of(shipped_order(level, 1)).pk, actor=coordinator)
    client.get(CLAIMS)
    with CaptureQueriesContext(connection) as one:
        client.get(CLAIMS)
    for _more in range(2):
        logistics.file_claim(lost_parcel_of(shipped_order(level, 1)).pk, actor=coordinator)
    with CaptureQueriesContext(connection) as three:
        client.get(CLAIMS)

    assert len(three) == len(one)
