"""The after-sales use cases. Console, API and the public pages call these and nothing else to
change returns, tickets and feedback. Each area is a module (`tickets`, `feedback`, ...)."""

from . import feedback, tickets  # noqa: F401
from .returns import (  # noqa: F401
    ReturnAlreadyRequested,
    ReturnLineInput,
    approve_return,
    close_return,
    inspect_return,
    receive_return,
    refund_value,
    reject_return,
    request_return,
    resolve_return,
)
