"""Where an order goes, read the way people write it (docs/architecture.md, "Addresses"). Every
channel's address passes through `read_address` before it is stored: a whole address in the
street field with the region left empty is split into province, city, district and street; the
region is checked against China's administrative divisions (`core.regions`) and stored with the
official names and its code, so “广东” and “广东省” are one province wherever orders are counted;
a region that does not exist, or a city not in its province, becomes a reason that holds the order."""

from dataclasses import dataclass, field
from typing import Any

from core import regions

from .checks import REGION_REASON, reason


@dataclass(frozen=True)
class DeliveryAddress:
    """An address as stored: official region names where they were recognised, the street without
    the region written again, the deepest division's code, and the reasons it holds the order."""

    province: str
    city: str
    district: str
    street: str
    region_code: str
    reasons: list = field(default_factory=list)


def read_address(province: str, city: str, district: str, address: str) -> DeliveryAddress:
    province, city, district, street = ((part or "").strip() for part in (province, city, district, address))
    if street and not (province or city):
        split = regions.split_address(street)
        if split.region.province or split.region.city:
            region, street = split.region, split.street
        else:
            region = regions.resolve("", "", district)
    else:
        region = regions.resolve(province, city, district)
        street = _without_region(street, region)
    return DeliveryAddress(
        province=region.province,
        city=region.city,
        district=region.district,
        street=street,
        region_code=region.code,
        reasons=[region_reason(problem) for problem in region.problems],
    )


def _without_region(street: str, region) -> str:
    """The street, when it repeats the region in front (a whole address pasted into the street field
    as well as the region's own fields), without that repetition."""
    if not street or not region.code:
        return street
    split = regions.split_address(street)
    repeated = (split.region.province or split.region.city) and split.street
    return split.street if repeated and _same_place(split.region, region) else street


def _same_place(written, stored) -> bool:
    return all(
        not mine or mine == theirs
        for mine, theirs in (
            (written.province, stored.province),
            (written.city, stored.city),
            (written.district, stored.district),
        )
    )


def region_reason(problem: regions.RegionProblem) -> dict[str, Any]:
    """A region problem as an order's hold reason: a code with its values, so each reader sees it in
    their own language."""
    return reason(f"{REGION_REASON}{problem.kind}", level=problem.level, value=problem.value, parent=problem.parent)
