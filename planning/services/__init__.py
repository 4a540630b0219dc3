"""Planning's use cases, one transaction each; one module per concern."""

from .demand import recompute_demand, write_demand

__all__ = ["recompute_demand", "write_demand"]
