"""Where the demo shop's carrier services deliver (docs/architecture.md, "Reachability"): ZTO's
economy service reaches only 上海, 江苏 and 浙江, and not 浙江's islands of 舟山, so the shipping rules
send parcels elsewhere with another service and say why."""

from logistics.services.coverage import replace_coverage

# (carrier, service, province, city, district, excluded)
ECONOMY_COVERAGE = [
    ("zto", "economy", "上海市", "", "", False),
    ("zto", "economy", "江苏省", "", "", False),
    ("zto", "economy", "浙江省", "", "", False),
    ("zto", "economy", "浙江省", "舟山市", "", True),
]


def seed_coverage(command) -> str:
    """Called by seed_demo after the orders, with itself: its users."""
    outcomes = replace_coverage(ECONOMY_COVERAGE, actor=command.users["logistics"])
    refused = [outcome for outcome in outcomes if not isinstance(outcome, tuple)]
    if refused:
        raise RuntimeError(f"The demo's coverage was refused: {refused}")
    return "中通经济件 delivers to 上海, 江苏 and 浙江 (not 舟山)"
