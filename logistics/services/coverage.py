"""Where each carrier service delivers (docs/architecture.md, "Reachability"), uploaded as a sheet:
a file names the whole coverage of each service it lists, so a service's rows are replaced by the
file's; an area is a province, city or district by its division code (`core.regions`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import regions
from core.actors import Actor
from core.permissions import Logistics, require

from ..models import CarrierService, ServiceCoverage


def area_of(province: str, city: str, district: str) -> tuple[str, str]:
    """The division the three names give, as (code, names as stored); refused with the problem on
    its column when a name does not exist or is not in the one above."""
    found = regions.resolve(province, city, district)
    if found.problems:
        problem = found.problems[0]
        raise ValidationError({problem.level: [str(problem.message())]})
    if not found.code:
        raise ValidationError({"province": [_("Enter the province, and the city or district if the area is one.")]})
    return found.code, " ".join(part for part in (found.province, found.city, found.district) if part)


@transaction.atomic
def replace_coverage(rows: list[tuple[str, str, str, str, str, bool]], *, actor: Actor) -> list:
    """Replace the coverage of every service the rows name: `rows` holds (carrier code, service code,
    province, city, district, excluded). Answers one outcome per row, ("new", {}) or the
    ValidationError that refused it; the rows are written all the same, and a caller that wants all
    or nothing rolls its transaction back."""
    require(actor, Logistics.CHANGE_CARRIERSERVICE, _("Your role may not change carrier services."))
    named = {(carrier_code, service_code) for carrier_code, service_code, *_area in rows}
    # Two uploads for one service at once: the second waits and then replaces the first's rows.
    services = {
        (service.carrier.code, service.code): service
        for service in CarrierService.objects.select_related("carrier")
        .select_for_update(of=("self",))
        .filter(carrier__code__in={carrier for carrier, _service in named}, code__in={code for _c, code in named})
        .order_by("pk")
    }
    outcomes, areas = [], []
    for carrier_code, service_code, province, city, district, excluded in rows:
        service = services.get((carrier_code, service_code))
        try:
            if service is None:
                raise ValidationError(
                    {
                        "service": [
                            _("Carrier %(carrier)s has no service “%(service)s”.")
                            % {"carrier": carrier_code, "service": service_code}
                        ]
                    }
                )
            code, names = area_of(province, city, district)
        except ValidationError as error:
            outcomes.append(error)
            continue
        areas.append(ServiceCoverage(service=service, region_code=code, region=names, excluded=excluded))
        outcomes.append(("new", {}))
    ServiceCoverage.objects.filter(service_id__in={area.service_id for area in areas}).delete()
    ServiceCoverage.objects.bulk_create(areas, ignore_conflicts=True)
    return outcomes
