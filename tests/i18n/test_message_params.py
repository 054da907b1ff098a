"""A message with `%(name)s` placeholders raised without its `params` reaches the person with the
placeholder in it ("%(field)s must be ..."): every such call passes a value for each name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import eid

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Marking a message for extraction (the values come later, where it is rendered).
_MARKERS = {"N_", "_", "gettext", "ngettext", "lazy_gettext"}


def _called(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)


def test_every_raised_message_gets_a_value_for_each_placeholder() -> None:
    missing: list[str] = []
    for path in sorted(Path(eid.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args and _called(node) not in _MARKERS):
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            names = set(_PLACEHOLDER.findall(first.value))
            if not names:
                continue
            params = next((k.value for k in node.keywords if k.arg == "params"), None)
            if any(k.arg is None for k in node.keywords):
                continue  # **kwargs: cannot be read statically
            given = (
                {k.value for k in params.keys if isinstance(k, ast.Constant)}
                if isinstance(params, ast.Dict)
                else names
                if params is not None
                else set()
            )
            if names - given:
                missing.append(f"{path.name}:{node.lineno} {sorted(names - given)}")
    assert not missing, missing
