"""The direction of imports that DESIGN.md §2 sets, read from the source with `ast` (every
import, also those inside functions): who may import whom, no circle among `notify` modules,
and `ports.py` modules that hold protocols, not implementations."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every `eid...` module a file imports, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            # `from eid.x import y` may name the module eid.x.y
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "eid" or name.startswith("eid.")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in (SRC / "eid").rglob("*.py")}
    return {
        name: {i for i in imports_of(path) if i in modules and i != name}
        for name, path in modules.items()
    }


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def offending(edges: dict[str, set[str]], source: str, allowed: Iterable[str]) -> list[str]:
    allowed = tuple(allowed)
    return sorted(
        f"{module} imports {target}"
        for module, targets in edges.items()
        if within(module, source)
        for target in targets
        if not any(within(target, a) for a in allowed)
    )


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle among the given modules, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


EDGES = graph()


def test_the_checker_sees_imports_and_circles() -> None:
    """The rules below can fail: the reader finds what a module imports, and a circle."""
    assert "eid.enrolment.state" in EDGES["eid.enrolment.service"]
    assert "eid.verification.service" in EDGES["eid.enrolment.service"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert offending({"eid.x.m": {"eid.y.n"}}, "eid.x", ["eid.core"]) == ["eid.x.m imports eid.y.n"]


def test_verification_imports_nothing_from_enrolment() -> None:
    """Enrolment owns the application and calls verification; never the other way round."""
    assert [
        f"{m} imports {t}"
        for m, ts in EDGES.items()
        if within(m, "eid.verification")
        for t in ts
        if within(t, "eid.enrolment")
    ] == []


def test_authority_never_imports_enrolment() -> None:
    """The two agencies talk through signed messages, not each other's code."""
    assert [
        f"{m} imports {t}"
        for m, ts in EDGES.items()
        if within(m, "eid.authority")
        for t in ts
        if within(t, "eid.enrolment")
    ] == []


def test_no_import_circle_among_notify_modules() -> None:
    notify = {
        m: {t for t in ts if within(t, "eid.notify")}
        for m, ts in EDGES.items()
        if within(m, "eid.notify")
    }
    assert cycle(notify) is None


@pytest.mark.parametrize("package", ["eid.biometrics", "eid.calendar"])
def test_biometrics_and_calendar_import_only_core(package: str) -> None:
    edges = dict(EDGES)
    if package == "eid.calendar":
        # Its HTTP edge asks staff who the officer is, as every officer endpoint does; the
        # calendar's rules, models and queries import only core.
        edges["eid.calendar.endpoints"] = edges["eid.calendar.endpoints"] - {
            "eid.staff.dependencies"
        }
    assert offending(edges, package, [package, "eid.core", "eid.i18n"]) == []


def test_ports_modules_hold_no_implementation() -> None:
    """A `ports.py` imports only core and other ports: it declares what lies outside and never
    builds it (`eid.wiring` does, at start)."""
    ports = {m: ts for m, ts in EDGES.items() if m.endswith(".ports")}
    assert len(ports) >= 4
    assert [
        f"{m} imports {t}"
        for m, ts in ports.items()
        for t in ts
        if not (within(t, "eid.core") or t.endswith(".ports") or t in ("eid", m.rsplit(".", 1)[0]))
    ] == []


def test_no_port_is_a_module_global() -> None:
    """Implementations are passed in: nothing sets or gets a process-wide matcher or channels."""
    names = {"set_matcher", "get_matcher", "set_channels", "get_channels"}
    defined = sorted(
        f"{module_name(p)}.{node.name}"
        for p in (SRC / "eid").rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name in names
    )
    assert defined == []
