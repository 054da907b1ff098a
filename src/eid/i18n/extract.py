"""The message ids the code uses, found by Babel's Python extractor, and the tool that keeps the
`.po` files in step with them (`python -m eid.i18n.extract`: adds new ids to every language with
an empty translation, to be filled before the completeness test passes; reports stale ones).

An id is marked by where it stands: the first argument of an error (`EidError` and every
subclass the source declares), of `N_()`, or the message of a `QualityIssue`; the wallet
verifier's `_refuse` takes it second. Channel failures (`DeliveryFailed`) are deliberately not
marked: their text is the failed job's reason for operators, never shown to a person.
"""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from eid.i18n.catalogues import po_path
from eid.i18n.negotiation import SUPPORTED

SOURCE = Path(__file__).resolve().parents[1]

_FIRST = None  # Babel's spec for "the first argument is the message id"
# Not shown to a person: the failed delivery job's reason, for operators.
_OPERATOR_ONLY = {"DeliveryFailed"}


def _sources() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SOURCE.rglob("*.py"))
        if "migrations" not in path.relative_to(SOURCE).parts
    ]


def error_classes() -> set[str]:
    """`EidError` and every class the code derives from it, by name (read from the source, so a
    new error type is marked without anyone listing it here)."""
    bases: dict[str, set[str]] = {}
    for _, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
                bases.setdefault(node.name, set()).update(names)
    found = {"EidError"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found - _OPERATOR_ONLY
        found |= more


def keywords() -> dict[str, object]:
    marks: dict[str, object] = {"N_": _FIRST, "QualityIssue": (2,), "_refuse": (2,)}
    return marks | dict.fromkeys(sorted(error_classes()), _FIRST)


def used_message_ids() -> dict[str, list[str]]:
    """Every message id the code marks, with where it is used (file:line)."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        SOURCE,
        method_map=[("migrations/**.py", "ignore"), ("**.py", "python")],
        keywords=keywords(),  # type: ignore[arg-type]
        comment_tags=(),
        strip_comment_tags=True,
    ):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def formatted_messages() -> list[str]:
    """Places where a marked message is built at run time (an f-string, a `+`): it cannot be
    looked up in a catalogue (write the English text with `%(name)s` placeholders and pass
    `params` instead)."""
    found = []
    marks = keywords()
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in marks:
                continue
            position = 1 if marks[name] == (2,) else 0
            built = (ast.JoinedStr, ast.BinOp)
            if len(node.args) > position and isinstance(node.args[position], built):
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    return found


def update_catalogues() -> list[str]:
    """Adds ids the code uses and the `messages` catalogues lack; returns the stale ids."""
    used = used_message_ids()
    stale: set[str] = set()
    for language in SUPPORTED:
        path = po_path(language, "messages")
        with path.open("rb") as source:
            catalog: Catalog = read_po(source, locale=language)
        for msgid, places in used.items():
            if msgid not in catalog:
                catalog.add(msgid, "", locations=[(p.rsplit(":", 1)[0], 0) for p in places[:1]])
        stale |= {str(m.id) for m in catalog if m.id and str(m.id) not in used}
        written = io.BytesIO()
        write_po(written, catalog, width=100, include_lineno=False, sort_output=False)
        # Keep the file's own header (Babel would write its template's placeholders).
        header = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
        entries = written.getvalue().decode("utf-8").split("\n\n", 1)[1]
        path.write_text(f"{header}\n\n{entries}", encoding="utf-8")
    return sorted(stale)


if __name__ == "__main__":
    for msgid in update_catalogues():
        print(f"not used by the code (remove if no longer needed): {msgid!r}", file=sys.stderr)
