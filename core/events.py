"""The one way a higher app takes part in a lower app's work (docs/architecture.md, "Events").

A lower app declares its events in its own `events.py`: something that happened (an order was
cancelled, a parcel was dispatched) or a point where others may contribute (the sections of the
order page, what blocks an order's completion). Its services call `publish()` explicitly, at the
moment the thing happens, inside their own transaction. A higher app subscribes in its
`AppConfig.ready()`. `manage.py events` prints every event with its publishers and subscribers.

Subscribers run synchronously, in the order they subscribed, inside the publisher's transaction: an
exception rolls the whole change back. A subscriber that must only act once the change is committed
(a rollup write, a message) registers its own `transaction.on_commit`."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings


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


def _declarations() -> Iterator[tuple[str, str, Event]]:
    """(module, variable, event) of every event of every installed app: the `Event`s in each app's
    `events` module, apps in the order of INSTALLED_APPS (lower apps first)."""
    seen = set()
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.events"
        if find_spec(module_name) is None:
            continue
        module = import_module(module_name)
        for variable, value in vars(module).items():
            # An event another events module imports is still the lower app's.
            if isinstance(value, Event) and value not in seen:
                seen.add(value)
                yield module_name, variable, value


def declared_events() -> Iterator[Event]:
    """Every event of every installed app, apps in the order of INSTALLED_APPS (lower apps first)."""
    for _module, _variable, event in _declarations():
        yield event


def describe(handler: Callable[..., Any]) -> str:
    """`module.function` of a subscriber, as the events listing shows it."""
    return f"{handler.__module__}.{handler.__qualname__}"


def publishers() -> dict[str, list[str]]:
    """Where each event is published, by event name: `module.function` of every `<EVENT>.publish(...)`
    in the project's own apps (tests and migrations aside). It is read from the source, so the
    listing says what the code does, not what someone remembered to write down."""
    declared, found = _declared_by_location(), defaultdict(list)
    for app_config in apps.get_app_configs():
        root = Path(app_config.path)
        if not root.is_relative_to(settings.BASE_DIR) or "site-packages" in root.parts:
            continue
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if {"migrations", "tests"} & set(parts):
                continue
            module = ".".join([app_config.name, *parts]).removesuffix(".__init__")
            source = path.read_text(encoding="utf-8")
            for event, where in _publications(source, module, path.name == "__init__.py", declared):
                if where not in found[event.name]:
                    found[event.name].append(where)
    return dict(found)


def publications(source: str, module: str, *, is_package: bool = False) -> list[tuple[Event, str]]:
    """The `<EVENT>.publish(...)` calls in the source of `module`, each as (event, `module.function`
    that makes it). An event is named as a variable imported from (or declared in) an app's `events`
    module, or as an attribute of such a module imported under some name."""
    return _publications(source, module, is_package, _declared_by_location())


def _publications(source, module, is_package, declared):
    finder = _PublishFinder(module, is_package=is_package, declared=declared)
    finder.visit(ast.parse(source))
    return finder.found


def _declared_by_location() -> dict[tuple[str, str], Event]:
    return {(module, variable): event for module, variable, event in _declarations()}


class _PublishFinder(ast.NodeVisitor):
    """Walks one module for `publications`."""

    def __init__(self, module: str, *, is_package: bool, declared: dict[tuple[str, str], Event]):
        self.module, self.declared = module, declared
        self.package = module if is_package else module.rpartition(".")[0]
        self.events: dict[str, Event] = {
            variable: event for (where, variable), event in declared.items() if where == module
        }
        self.modules: dict[str, str] = {}
        self.scope: list[str] = []
        self.found: list[tuple[Event, str]] = []

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = self.package.split(".")
        base = base[: len(base) - node.level + 1]
        return ".".join([*base, *([node.module] if node.module else [])])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = self._absolute(node)
        for alias in node.names:
            local = alias.asname or alias.name
            if (source, alias.name) in self.declared:
                self.events[local] = self.declared[(source, alias.name)]
            else:
                self.modules[local] = f"{source}.{alias.name}"

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.modules[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                self.modules[top] = top

    def _scoped(self, node: ast.AST) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Call(self, node: ast.Call) -> None:
        target = node.func
        if isinstance(target, ast.Attribute) and target.attr == "publish":
            event = self._event(target.value)
            if event is not None:
                self.found.append((event, ".".join([self.module, *self.scope])))
        self.generic_visit(node)

    def _event(self, node: ast.expr) -> Event | None:
        if isinstance(node, ast.Name):
            return self.events.get(node.id)
        if isinstance(node, ast.Attribute):
            module = self._module(node.value)
            return self.declared.get((module, node.attr)) if module else None
        return None

    def _module(self, node: ast.expr) -> str | None:
        """The module a name or dotted name stands for (`events`, `order_events`, `orders.events`)."""
        if isinstance(node, ast.Name):
            return self.modules.get(node.id)
        if isinstance(node, ast.Attribute):
            package = self._module(node.value)
            return f"{package}.{node.attr}" if package else None
        return None


# core's own contribution point: core runs every export as a job, and each app offers its own.
EXPORTS_OFFERED = Event(
    name="core.exports_offered",
    doc="Which spreadsheet exports the apps offer: each subscriber returns a list of its exports.",
    payload=(),
)

# core's sweep (`manage.py sweep_jobs`) recovers the jobs a stopped worker left running, and asks each
# app to recover its own work a stopped worker left behind (docs/architecture.md, "Jobs").
STALE_WORK = Event(
    name="core.stale_work",
    doc=(
        "The sweep asks each app to recover its work that a stopped worker left behind, waiting since "
        "before stale_before: each subscriber returns a list of sentences saying what it did."
    ),
    payload=("stale_before",),
)

# core's retention run (`manage.py anonymise_personal_data`, daily) empties old job files and asks each
# app to delete the personal data it keeps only for a while (docs/architecture.md, "Personal data").
PERSONAL_DATA_EXPIRED = Event(
    name="core.personal_data_expired",
    doc=(
        "The daily retention run asks each app to delete the personal data it keeps only for a short "
        "while and that has outlived its use by now: each subscriber returns a list of sentences "
        "saying what it deleted."
    ),
    payload=("now",),
)
