"""Who acts: a person, or the system itself (docs/architecture.md, "Permissions").

Every service that changes data is told who acts, and no service guesses. A person is a Django user
and needs their role's permissions. The system acts where no person does: orders and returns that
channels send through the API, carrier updates, scheduled work (completing delivered orders, sending
messages), the demo shop; it may do whatever its code asks of it. `None` is nobody: services refuse
it, so a forgotten actor can never slip past a permission check."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, final

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


@final
class SystemActor:
    """The system acting on its own. There is one, `SYSTEM`. It has no permissions to look up:
    `core.permissions.require` lets it pass. A row that records who acted stores it as no user
    (NULL), which the console shows as it always has."""

    def __repr__(self) -> str:
        return "SYSTEM"

    def __reduce__(self) -> str:
        # Copied or pickled, it stays the one SYSTEM that `is SYSTEM` recognises.
        return "SYSTEM"


SYSTEM = SystemActor()

Actor: TypeAlias = "AbstractUser | AnonymousUser | SystemActor"
"""A person (a user, or the anonymous visitor of a public page) or the system."""


def ensure_actor(actor: Actor) -> Actor:
    """`actor`, unless it is None: then the caller forgot to say who acts, which is a bug."""
    if actor is None:
        raise TypeError("No actor given: pass the user who acts, or core.actors.SYSTEM for the system's own work.")
    return actor


def stored_user(actor: Actor) -> AbstractUser | None:
    """The user a row records as having acted: None (NULL) for the system."""
    return None if ensure_actor(actor) is SYSTEM else actor


def person(actor: Actor) -> AbstractUser:
    """`actor`, who must be a person here: what they do is signed with their name (a note has an
    author), so the system, like None, is a bug."""
    if ensure_actor(actor) is SYSTEM:
        raise TypeError("Only a person can do this: pass the user who acts, not core.actors.SYSTEM.")
    return actor


def actor_from(user: AbstractUser | None) -> Actor:
    """Who a recorded user stands for: the system where no user was recorded (user rows are
    protected from deletion, so NULL always means the system)."""
    return SYSTEM if user is None else user
