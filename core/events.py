"""The one way a higher app takes part in a lower app's work (docs/architecture.md, "Events").

A lower app declares its events in its own `events.py`: something that happened (an order was
cancelled, a parcel was dispatched) or a point where others may contribute (the sections of the
order page, what blocks an order's completion). Its services call `publish()` explicitly, at the
moment the thing happens, inside their own transaction. A higher app subscribes in its
`AppConfig.ready()`. `manage.py events` prints every event with its subscribers.

Subscribers run synchronously, in the order they subscribed, inside the publisher's transaction: an
exception rolls the whole change back. A subscriber that must only act once the change is committed
(a rollup write, a message) registers its own `transaction.on_commit`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps


@dataclass(eq=False)
class Event:
    """One event of one app: its name (`app.what_happened`), what it means, and the keyword arguments
    every subscriber receives."""

    name: str
    doc: str
    payload: tuple[str, ...]
    subscribers: list[Callable[..., Any]] = field(default_factory=list, repr=False)

    def subscribe(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Add a subscriber (from an `AppConfig.ready()`); subscribing the same function twice
        keeps one."""
        if handler not in self.subscribers:
            self.subscribers.append(handler)
        return handler

    def publish(self, **payload: Any) -> list[Any]:
        """Call every subscriber with the payload and return what each returned, in order.
        Contribution points use the answers; announcements ignore them."""
        if set(payload) != set(self.payload):
            raise TypeError(f"{self.name} is published with {sorted(self.payload)}, not {sorted(payload)}")
        return [handler(**payload) for handler in self.subscribers]


def declared_events() -> Iterator[Event]:
    """Every event of every installed app: the `Event`s in each app's `events` module, apps in the
    order of INSTALLED_APPS (lower apps first)."""
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.events"
        if find_spec(module_name) is None:
            continue
        module = import_module(module_name)
        for value in vars(module).values():
            if isinstance(value, Event):
                yield value


def describe(handler: Callable[..., Any]) -> str:
    """`module.function` of a subscriber, as the events listing shows it."""
    return f"{handler.__module__}.{handler.__qualname__}"


# core's own contribution point: core runs every export as a job, and each app offers its own.
EXPORTS_OFFERED = Event(
    name="core.exports_offered",
    doc="Which spreadsheet exports the apps offer: each subscriber returns a list of its exports.",
    payload=(),
)
