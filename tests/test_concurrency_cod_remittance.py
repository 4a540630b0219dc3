"""Cash-on-delivery remittances raced between real PostgreSQL connections (see
tests/test_concurrency.py for `race`): one remittance file uploaded twice at once is recorded once,
and two batches naming the same parcel at once pay it once."""

from datetime import date
from decimal import Decimal
from functools import partial

import pytest

from logistics import services as logistics
from logistics.models import CodRemittance, CodRemittanceLine
from orders.models import Payment
from tests.factories import CarrierFactory, ProductFactory, WarehouseFactory, advance, place_apart, staff, stock
from tests.test_concurrency import fresh, race, split

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def parcels():
    product = ProductFactory(unit_price=Decimal("25.00"))
    stock(product, WarehouseFactory(), 20)
    return [
        advance(place_apart(lines=[(product, 2)]), "delivered", remitted=False).shipments.get() for _index in range(3)
    ]


def lines(parcels, reference):
    return [
        {
            "row": row,
            "tracking_number": parcel.tracking_number,
            "amount": Decimal("50.00"),
            "fee": Decimal("1.00"),
            "remitted_on": date(2026, 12, 1),
            "reference": reference,
        }
        for row, parcel in enumerate(parcels, start=2)
    ]


def test_one_remittance_file_uploaded_twice_at_once_is_recorded_once(parcels):
    carrier = CarrierFactory()
    clerks = [staff("Finance") for _index in range(2)]

    outcomes = race(
        *(
            partial(logistics.record_remittance, carrier.pk, lines(parcels, "SF-B1"), file_name="sf.xlsx", actor=clerk)
            for clerk in clerks
        )
    )

    recorded, refused = split(outcomes, logistics.RecordedRemittance)
    assert len(recorded) == 1 and len(refused) == 1
    assert isinstance(refused[0], logistics.UploadRefused)
    assert "a batch is counted once" in refused[0].problems[0][2]
    assert CodRemittance.objects.count() == 1 and CodRemittanceLine.objects.count() == 3
    for parcel in parcels:
        assert Payment.objects.filter(order=parcel.order).count() == 1
        assert fresh(parcel.order).amount_paid == Decimal("50.00")


def test_two_batches_naming_one_parcel_at_once_pay_it_once(parcels):
    carrier = CarrierFactory()
    clerks = [staff("Finance") for _index in range(2)]

    outcomes = race(
        *(
            partial(logistics.record_remittance, carrier.pk, lines(parcels, reference), file_name="f", actor=clerk)
            for reference, clerk in zip(("B1", "B2"), clerks, strict=True)
        )
    )

    recorded, failed = split(outcomes, logistics.RecordedRemittance)
    assert len(recorded) == 2, failed
    assert CodRemittanceLine.objects.filter(recorded=True).count() == 3
    assert CodRemittanceLine.objects.filter(problem=CodRemittanceLine.Problem.ALREADY_REMITTED).count() == 3
    for parcel in parcels:
        assert Payment.objects.filter(order=parcel.order).count() == 1
        assert fresh(parcel.order).amount_paid == Decimal("50.00")
