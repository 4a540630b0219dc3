"""What every after-sales case (a return, a ticket) does when it moves: the same checks as an
order's transitions, and a line in its own event log."""

from django.utils import timezone

from orders.services.events import ensure_allowed


def number_for(case, prefix):
    """Human-friendly and never reused: a prefix, the day the case was opened, then its row id."""
    return f"{prefix}{timezone.localdate(case.created_at):%y%m%d}-{case.pk:06d}"


def record_step(case, bound_method, *, actor, log, reason="", **log_fields):
    """Take one FSM transition of a locked case, save it, and write its event with `log`
    (the case's event model, given the case as `log_fields`)."""
    ensure_allowed(case, bound_method, actor)
    from_status = case.status
    bound_method()
    case.save()
    return log.objects.create(
        from_status=from_status,
        to_status=case.status,
        transition=bound_method.__name__,
        actor=actor,
        reason=reason or "",
        **log_fields,
    )
