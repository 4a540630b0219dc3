"""The rules of docs/architecture.md that a reader of one file cannot see broken: every public service
and selector function says what it takes and gives, no model signal carries a business rule, and the
page itself says what the code does."""

import ast
import inspect
import re
from importlib import import_module
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

APPS = ["core", "inventory", "orders", "logistics", "aftersales", "incidents", "planning", "analytics"]
ROOT = Path(settings.BASE_DIR)


def _modules_of(room):
    """Dotted names of every module of one room (`services`, `selectors`) of every app, whether the
    room is a module or a package."""
    for app in APPS:
        module_file = ROOT / app / f"{room}.py"
        package = ROOT / app / room
        if module_file.exists():
            yield f"{app}.{room}"
        elif package.is_dir():
            for path in sorted(package.glob("*.py")):
                yield f"{app}.{room}" if path.stem == "__init__" else f"{app}.{room}.{path.stem}"


def _public_functions(module_name):
    module = import_module(module_name)
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module_name:
            continue
        yield name, value


def _unannotated(function):
    signature = inspect.signature(function)
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.annotation is inspect.Parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_every_public_service_and_selector_function_has_type_hints():
    lacking = [
        f"{module_name}.{name}: {', '.join(missing)}"
        for room in ("services", "selectors")
        for module_name in _modules_of(room)
        for name, function in _public_functions(module_name)
        if (missing := _unannotated(function))
    ]
    assert lacking == []


def test_no_app_connects_model_signals():
    """Higher apps take part through core.events (docs/architecture.md, "Events"), never through
    Django's model signals or django-fsm's transition signals."""
    signal_names = {"post_save", "pre_save", "post_init", "post_delete", "pre_delete", "post_transition"}
    connecting = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and any(alias.name in signal_names for alias in node.names):
                    connecting.append(str(path.relative_to(ROOT)))
    assert connecting == []


ARCHITECTURE = ROOT / "docs" / "architecture.md"
CITATION = re.compile(r'docs/architecture\.md[,:]?\s*\(?\s*"([^"]+)"')


def test_the_architecture_page_lists_every_event_as_the_code_wires_it():
    out = StringIO()
    call_command("events", "--markdown", stdout=out)
    assert out.getvalue().strip() in ARCHITECTURE.read_text(encoding="utf-8")


def test_every_section_the_code_cites_is_on_the_architecture_page():
    headings = {
        line.lstrip("#").strip()
        for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    cited = {
        (str(path.relative_to(ROOT)), section)
        for folder in [*APPS, "demo", "config", "templates"]
        if (ROOT / folder).is_dir()
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".html"}
        for section in map(" ".join, map(str.split, CITATION.findall(path.read_text(encoding="utf-8"))))
    }
    assert [(path, section) for path, section in sorted(cited) if section not in headings] == []
    assert cited, "no docstring cites the architecture page; the pattern is wrong"
