"""Printing slips and labels in batches, with tracking-number pools (docs/architecture.md, "Printing in
batches"): the pools' import and its refusals by row and column, numbers given in a POST in the order
the pick list walks and never twice, burnt when a parcel changes carrier, reprints marked, the label's
cash on delivery, the console pages and their queries."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from core.actors import SYSTEM
from core.models import PersonalDataAccess
from core.spreadsheets import imports
from logistics import selectors
from logistics import services as logistics
from logistics.models import PooledTrackingNumber, Shipment, TrackingNumberPool
from logistics.tracking_pool_sheet import POOL_IMPORT
from tests.factories import (
    CarrierFactory,
    CarrierServiceFactory,
    ProductFactory,
    WarehouseFactory,
    pack_all,
    place_apart,
    staff,
    stock,
)

pytestmark = pytest.mark.django_db

BATCH = reverse("admin:logistics_shipment_print")
SHEETS = reverse("admin:logistics_shipment_print_sheets")


def sheet(rows, header=("carrier", "service", "tracking number", "range start", "range end", "prefix")):
    workbook = Workbook()
    workbook.active.append(list(header))
    for row in rows:
        workbook.active.append(list(row))
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def upload(rows, actor, **kwargs):
    job = imports.start(POOL_IMPORT, file_name="numbers.xlsx", content=sheet(rows, **kwargs), actor=actor)
    checked = imports.check(POOL_IMPORT, job.pk)
    if checked.errors:
        return checked
    imports.confirm(POOL_IMPORT, checked.pk, actor=actor)
    return imports.run(POOL_IMPORT, checked.pk)


@pytest.fixture
def standard():
    return CarrierServiceFactory(supports_cod=True, supports_fragile=True)


@pytest.fixture
def coordinator():
    return staff("Logistics coordinator")


@pytest.fixture
def operator():
    return staff("Warehouse operator")


def fill_pool(service, *numbers):
    pool, _created = TrackingNumberPool.objects.get_or_create(service=service)
    PooledTrackingNumber.objects.bulk_create(
        [PooledTrackingNumber(pool=pool, carrier=service.carrier, number=number) for number in numbers]
    )
    return pool


def numbers(count, start=1):
    return [f"SF{value:013d}" for value in range(start, start + count)]


# The import -------------------------------------------------------------------------------------


def test_a_range_with_a_prefix_and_single_numbers_fill_the_services_pool(standard, coordinator):
    done = upload(
        [
            ("sf", "standard", "", "1000000000001", "1000000000004", "SF"),
            ("sf", "standard", "SF2000000000001", "", "", ""),
        ],
        coordinator,
    )

    assert done.errors == [] and done.summary["numbers"] == 5
    pool = TrackingNumberPool.objects.get(service=standard)
    assert list(pool.numbers.values_list("number", flat=True)) == [
        "SF1000000000001",
        "SF1000000000002",
        "SF1000000000003",
        "SF1000000000004",
        "SF2000000000001",
    ]
    assert set(pool.numbers.values_list("imported_by", flat=True)) == {coordinator.pk}


def test_chinese_headers_are_read(standard, coordinator):
    done = upload(
        [("sf", "standard", "SF3000000000001", "", "", "")],
        coordinator,
        header=("快递公司", "服务", "运单号", "起始号", "结束号", "前缀"),
    )

    assert done.errors == []
    assert PooledTrackingNumber.objects.get().number == "SF3000000000001"


def test_a_file_with_wrong_rows_imports_nothing_and_names_each_row_and_column(standard, coordinator, operator):
    CarrierServiceFactory(carrier=standard.carrier, code="express", name="Express")
    fill_pool(standard, "SF5000000000001")
    level = stock(ProductFactory(), WarehouseFactory(), 5)
    parcel = pack_all(place_apart(lines=[(level.product, 1)]))[0]
    logistics.assign_tracking_number(parcel.pk, standard.carrier.pk, "SF6000000000001", actor=SYSTEM)

    checked = upload(
        [
            ("sf", "standard", "SF4000000000001", "", "", ""),
            ("sf", "overnight", "SF4000000000002", "", "", ""),
            ("sf", "standard", "1234", "", "", ""),
            ("sf", "standard", "", "4000000000009", "4000000000003", "SF"),
            ("sf", "standard", "", "40000000001", "4000000000003", "SF"),
            ("sf", "express", "SF4000000000001", "", "", ""),
            ("sf", "standard", "SF5000000000001", "", "", ""),
            ("sf", "standard", "SF6000000000001", "", "", ""),
            ("sf", "standard", "SF4000000000003", "4000000000003", "4000000000004", "SF"),
        ],
        coordinator,
    )

    errors = {(error["row"], error["column"]): error["message"] for error in checked.errors}
    assert set(errors) == {
        (3, "service"),
        (4, "number"),
        (5, "end"),
        (6, "end"),
        (7, "number"),
        (8, "number"),
        (9, "number"),
        (10, "number"),
    }
    assert "overnight" in errors[3, "service"]
    assert errors[4, "number"] == "1234 is not a SF Express tracking number (the carrier's pattern is SF\\d{13})."
    assert errors[5, "end"] == "The end comes before the start."
    assert errors[6, "end"] == "The end has as many digits as the start (11)."
    assert errors[7, "number"] == "SF4000000000001 is also in row 2 of this file."
    assert errors[8, "number"] == "SF5000000000001 is in a SF Express pool already."
    assert errors[9, "number"] == f"SF6000000000001 is on the parcel of order {parcel.order.number} already."
    assert "either one number or a range" in errors[10, "number"]
    assert list(PooledTrackingNumber.objects.values_list("number", flat=True)) == ["SF5000000000001"]


def test_only_roles_that_import_tracking_numbers_import_them(standard, operator):
    with pytest.raises(PermissionDenied):
        upload([("sf", "standard", "SF4000000000001", "", "", "")], operator)


# Printing ---------------------------------------------------------------------------------------


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="HZ", name="Hangzhou")


def product_in(warehouse, bin_location, **values):
    product = ProductFactory(**values)
    stock(product, warehouse, 50, bin_location=bin_location)
    return product


def wave_of(warehouse, *orders_):
    return logistics.create_pick_wave(warehouse.pk, [order.pk for order in orders_], actor=SYSTEM)


@pytest.fixture
def walk(warehouse, standard):
    """Three orders on one pick list whose goods lie in bins C-1, A-10 and A-2: the walk meets them
    in the order A-2, A-10, C-1."""
    far, middle, near = (product_in(warehouse, bin_location) for bin_location in ("C-1", "A-10", "A-2"))
    placed = [place_apart(lines=[(product, 1)]) for product in (far, middle, near)]
    return wave_of(warehouse, *placed), placed


def parcel_of(order):
    return Shipment.objects.get(order=order)


def test_a_pick_lists_parcels_print_in_the_order_its_walk_meets_them(walk):
    wave, (far, middle, near) = walk

    assert selectors.wave_parcels_in_pick_order(wave.pk) == [parcel_of(o).pk for o in (near, middle, far)]


def test_printing_gives_parcels_without_a_number_the_pools_numbers_in_pick_order(walk, standard, operator):
    wave, (far, middle, near) = walk
    fill_pool(standard, *numbers(5))

    printed = logistics.print_labels(selectors.wave_parcels_in_pick_order(wave.pk), actor=operator)

    assert [parcel_of(o).tracking_number for o in (near, middle, far)] == numbers(3)
    assert len(printed.given) == 3 and printed.pool_empty == []
    assert all(parcel_of(o).label_prints == 1 for o in (near, middle, far))
    given = PooledTrackingNumber.objects.exclude(shipment=None)
    assert {(number.number, number.shipment_id) for number in given} == {
        (parcel_of(o).tracking_number, parcel_of(o).pk) for o in (near, middle, far)
    }
    assert selectors.pool_levels([standard.pk])[0].remaining == 2


def test_a_reprint_shows_the_same_number_and_counts_the_print(walk, standard, operator):
    wave, placed = walk
    fill_pool(standard, *numbers(5))
    ids = selectors.wave_parcels_in_pick_order(wave.pk)
    logistics.print_labels(ids, actor=operator)
    before = {parcel_of(o).pk: parcel_of(o).tracking_number for o in placed}

    logistics.print_labels(ids[:1], actor=operator)

    assert {parcel_of(o).pk: parcel_of(o).tracking_number for o in placed} == before
    assert Shipment.objects.get(pk=ids[0]).label_prints == 2
    assert Shipment.objects.get(pk=ids[1]).label_prints == 1
    assert PooledTrackingNumber.objects.exclude(shipment=None).count() == 3


def test_a_parcel_with_a_tracking_number_keeps_it(walk, standard, operator):
    wave, (far, _middle, _near) = walk
    fill_pool(standard, *numbers(5))
    logistics.assign_tracking_number(parcel_of(far).pk, standard.carrier.pk, "SF9000000000001", actor=SYSTEM)

    printed = logistics.print_labels([parcel_of(far).pk], actor=operator)

    assert parcel_of(far).tracking_number == "SF9000000000001" and printed.given == {}


def test_an_empty_pool_leaves_the_parcel_without_a_number_and_says_which(walk, standard, operator):
    wave, (far, middle, near) = walk
    fill_pool(standard, *numbers(2))

    printed = logistics.print_labels(selectors.wave_parcels_in_pick_order(wave.pk), actor=operator)

    assert [parcel.order.number for parcel in printed.pool_empty] == [far.number]
    assert parcel_of(far).tracking_number == "" and parcel_of(far).label_prints == 1


def test_a_service_without_a_pool_gives_no_number(walk, operator):
    wave, placed = walk

    logistics.print_labels(selectors.wave_parcels_in_pick_order(wave.pk), actor=operator)

    assert [parcel_of(o).tracking_number for o in placed] == ["", "", ""]


def test_a_number_typed_by_hand_on_another_parcel_is_burnt_and_never_given(walk, standard, operator):
    wave, (far, middle, near) = walk
    fill_pool(standard, *numbers(3))
    logistics.assign_tracking_number(parcel_of(far).pk, standard.carrier.pk, numbers(1)[0], actor=SYSTEM)

    logistics.print_labels([parcel_of(near).pk, parcel_of(middle).pk], actor=operator)

    assert [parcel_of(near).tracking_number, parcel_of(middle).tracking_number] == numbers(3)[1:]
    burnt = PooledTrackingNumber.objects.get(number=numbers(1)[0])
    assert burnt.burnt_at is not None and burnt.shipment_id is None
    assert burnt.burnt_because == f"Already on the parcel of order {far.number}, entered by hand."


def test_a_parcel_moved_to_another_carrier_burns_its_number_which_is_not_given_again(walk, standard, operator):
    wave, (far, middle, near) = walk
    fill_pool(standard, *numbers(5))
    logistics.print_labels([parcel_of(far).pk], actor=operator)
    zto = CarrierServiceFactory(
        carrier=CarrierFactory(code="zto", name="ZTO Express"), code="standard", name="ZTO Standard", supports_cod=True
    )

    logistics.choose_carrier_service([far.pk], zto.pk, actor=staff("Logistics coordinator"))
    logistics.print_labels([parcel_of(middle).pk], actor=operator)

    assert parcel_of(far).tracking_number == "" and parcel_of(far).carrier_id == zto.carrier_id
    burnt = PooledTrackingNumber.objects.get(number=numbers(1)[0])
    assert burnt.shipment_id == parcel_of(far).pk and burnt.burnt_at is not None
    assert burnt.burnt_because == f"The parcel of order {far.number} moved to ZTO Express · ZTO Standard."
    assert parcel_of(middle).tracking_number == numbers(2)[1]


def test_a_number_replaced_by_hand_is_burnt(walk, standard, operator):
    wave, (far, _middle, _near) = walk
    fill_pool(standard, *numbers(2))
    logistics.print_labels([parcel_of(far).pk], actor=operator)

    logistics.assign_tracking_number(parcel_of(far).pk, None, "SF9000000000009", actor=SYSTEM)

    burnt = PooledTrackingNumber.objects.get(number=numbers(1)[0])
    assert burnt.burnt_at is not None and "SF9000000000009" in burnt.burnt_because


def test_parcels_that_left_are_not_printed(standard, operator, warehouse):
    level = stock(ProductFactory(), warehouse, 5)
    order = place_apart(lines=[(level.product, 1)])
    parcel = pack_all(order)[0]
    logistics.dispatch(parcel.pk, carrier_id=standard.carrier.pk, tracking_number="SF9000000000002", actor=SYSTEM)

    printed = logistics.print_labels([parcel.pk], actor=operator)

    assert printed.shipments == [] and Shipment.objects.get(pk=parcel.pk).label_prints == 0


def test_roles_without_the_print_permission_may_not_print(walk):
    wave, _placed = walk

    with pytest.raises(PermissionDenied):
        logistics.print_labels(selectors.wave_parcels_in_pick_order(wave.pk), actor=staff("Analyst"))


# The console ------------------------------------------------------------------------------------


def test_the_pick_list_links_to_its_batch_print(client, walk, operator):
    wave, _placed = walk
    client.force_login(operator)

    content = client.get(reverse("admin:logistics_pickwave_print", args=[wave.pk])).content.decode()

    assert f'href="{BATCH}?wave={wave.pk}"' in content


def test_the_batch_page_lists_parcels_and_pool_levels_and_gives_nothing(client, walk, standard, operator):
    wave, (far, middle, near) = walk
    fill_pool(standard, *numbers(3))
    client.force_login(operator)

    content = client.get(f"{BATCH}?wave={wave.pk}").content.decode()

    assert content.index(near.number) < content.index(middle.number) < content.index(far.number)
    assert "3 numbers left" in content and "running low: import more" in content
    assert PooledTrackingNumber.objects.exclude(shipment=None).count() == 0


def test_print_all_then_the_sheets_on_label_stock_in_pick_order(client, walk, standard, operator):
    wave, (far, middle, near) = walk
    fill_pool(standard, *numbers(5))
    client.force_login(operator)

    answer = client.post(f"{BATCH}?wave={wave.pk}", {"paper": "label"})
    content = client.get(answer["Location"]).content.decode()

    assert answer["Location"] == f"{SHEETS}?wave={wave.pk}&paper=label"
    assert "@page { size: 100mm 150mm; margin: 0; }" in content
    assert content.index(near.number) < content.index(middle.number) < content.index(far.number)
    for number in numbers(3):
        assert number in content
    assert "REPRINT" not in content
    assert PersonalDataAccess.objects.filter(order_number__in=[o.number for o in (far, middle, near)]).count() == 3


def test_reading_the_sheets_again_gives_no_number_and_counts_no_print(client, walk, standard, operator):
    wave, placed = walk
    fill_pool(standard, *numbers(5))
    client.force_login(operator)

    client.get(f"{SHEETS}?wave={wave.pk}&paper=a4")

    assert PooledTrackingNumber.objects.exclude(shipment=None).count() == 0
    assert not Shipment.objects.filter(label_prints__gt=0).exists()


def test_reprinting_one_parcel_prints_it_alone_marked_as_a_reprint(client, walk, standard, operator):
    wave, (far, middle, near) = walk
    fill_pool(standard, *numbers(5))
    client.force_login(operator)
    client.post(f"{BATCH}?wave={wave.pk}", {"paper": "a4"})
    number = parcel_of(middle).tracking_number

    answer = client.post(f"{BATCH}?wave={wave.pk}", {"paper": "a4", "parcel": parcel_of(middle).pk})
    content = client.get(answer["Location"]).content.decode()

    assert middle.number in content and far.number not in content and near.number not in content
    assert "REPRINT · print 2" in content and "Reprint · print 2" in content
    assert number in content and parcel_of(middle).tracking_number == number
    assert "@page { size: A4; margin: 12mm; }" in content


def test_the_label_shows_the_cash_to_collect_in_the_orders_currency(client, warehouse, standard, operator):
    product = product_in(warehouse, "A-1", unit_price=Decimal("128.00"))
    order = place_apart(lines=[(product, 2)], shipping_fee=Decimal("10.00"))
    paid_up = place_apart(lines=[(product, 1)], payment_method="card", paid_amount=Decimal("128.00"))
    wave = wave_of(warehouse, order, paid_up)
    client.force_login(operator)

    client.post(f"{BATCH}?wave={wave.pk}", {"paper": "label"})
    content = client.get(f"{SHEETS}?wave={wave.pk}&paper=label").content.decode()

    assert content.count("Cash on delivery: collect") == 1
    assert order.status == "confirmed" and paid_up.status == "confirmed"
    assert "CNY 266.00" in content


def test_the_shipment_list_prints_the_chosen_parcels(client, walk, operator):
    _wave, (far, middle, _near) = walk
    client.force_login(operator)
    ids = sorted([parcel_of(far).pk, parcel_of(middle).pk])

    answer = client.post(
        reverse("admin:logistics_shipment_changelist"),
        {"action": "print_selected", "_selected_action": [str(pk) for pk in ids]},
    )

    assert answer["Location"] == f"{BATCH}?ids={ids[0]},{ids[1]}"
    assert far.number in client.get(answer["Location"]).content.decode()


def test_an_analyst_sees_the_batch_but_gets_no_print_button(client, walk):
    wave, _placed = walk
    client.force_login(staff("Analyst"))

    content = client.get(f"{BATCH}?wave={wave.pk}").content.decode()
    refused = client.post(f"{BATCH}?wave={wave.pk}", {"paper": "a4"}, follow=True)

    assert "data-print-all" not in content
    assert "may not print labels" in refused.content.decode()
    assert not Shipment.objects.filter(label_prints__gt=0).exists()


def test_the_pool_list_shows_numbers_left_and_a_pool_running_low(client, standard, coordinator):
    pool = fill_pool(standard, *numbers(3))
    pool.low_below = 5
    pool.save()
    express = CarrierServiceFactory(carrier=standard.carrier, code="express", name="Express")
    roomy = fill_pool(express, *numbers(6, start=100))
    roomy.low_below = 5
    roomy.save()
    client.force_login(coordinator)

    content = client.get(reverse("admin:logistics_trackingnumberpool_changelist")).content.decode()

    assert "3 — running low" in content and content.count("data-pool-low") == 1
    assert ">6<" in content
    assert reverse("admin:logistics_trackingnumberpool_import") in content


def test_a_coordinator_sets_from_how_few_numbers_a_pool_runs_low_on_the_pool_list(client, standard, coordinator):
    pool = fill_pool(standard, *numbers(3))
    changelist = reverse("admin:logistics_trackingnumberpool_changelist")
    form = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(pool.pk),
        "form-0-low_below": "2",
        "_save": "Save",
    }
    client.force_login(staff("Warehouse operator"))
    assert 'name="form-0-low_below"' not in client.get(changelist).content.decode()
    client.post(changelist, form)
    pool.refresh_from_db()
    assert pool.low_below == 200
    client.force_login(coordinator)
    assert "3 — running low" in client.get(changelist).content.decode()

    client.post(changelist, form)

    pool.refresh_from_db()
    assert pool.low_below == 2
    assert "data-pool-low" not in client.get(changelist).content.decode()
    with pytest.raises(ValidationError):
        logistics.set_pool_warning(pool.pk, low_below=-1, actor=coordinator)


def test_the_import_page_takes_a_file_and_previews_it(client, standard, coordinator):
    client.force_login(coordinator)
    upload_url = reverse("admin:logistics_trackingnumberpool_import")

    answer = client.post(
        upload_url,
        {"file": _file("numbers.xlsx", sheet([("sf", "standard", "", "1000000000001", "1000000000003", "SF")]))},
    )
    preview = client.get(answer["Location"]).content.decode()

    assert "SF1000000000001 – SF1000000000003" in preview
    assert PooledTrackingNumber.objects.count() == 0


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_a_warehouse_operator_may_not_open_the_import(client, operator):
    client.force_login(operator)

    assert client.get(reverse("admin:logistics_trackingnumberpool_import")).status_code == 403
    assert client.get(reverse("admin:logistics_trackingnumberpool_changelist")).status_code == 200


def test_the_sheets_cost_the_same_queries_for_two_parcels_as_for_six(client, warehouse, standard, operator):
    products = [product_in(warehouse, f"B-{n}") for n in range(6)]
    placed = [place_apart(lines=[(product, 1)]) for product in products]
    small, large = wave_of(warehouse, *placed[:2]), wave_of(warehouse, *placed[2:])
    fill_pool(standard, *numbers(10))
    client.force_login(operator)
    counted = {}
    for name, wave in (("small", small), ("large", large)):
        client.post(f"{BATCH}?wave={wave.pk}", {"paper": "label"})
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{SHEETS}?wave={wave.pk}&paper=label").status_code == 200
        counted[name] = len(captured)

    assert counted["small"] == counted["large"]


def test_the_single_label_page_shows_the_cash_to_collect(client, warehouse, standard, operator):
    product = product_in(warehouse, "A-1", unit_price=Decimal("50.00"))
    order = place_apart(lines=[(product, 1)])
    parcel = pack_all(order)[0]
    client.force_login(operator)

    content = client.get(reverse("admin:logistics_shipment_label", args=[parcel.pk])).content.decode()

    assert "Cash on delivery: collect" in content and f"CNY {order.total:.2f}" in content
