"""What eid runs on, and under which licences: every distribution the installed `eid` needs at
run time (its dependencies, recursively) has a licence eid may use as a government service and
hand to another agency. Permissive and weak-copyleft licences pass; a strong-copyleft or unknown
one fails unless it is listed in COPYLEFT with the reason it is acceptable (docs/operations.md,
"Licences")."""

from __future__ import annotations

import importlib.metadata as md
import re

from packaging.requirements import Requirement

PERMISSIVE = re.compile(
    r"\b(MIT|MIT-0|MIT-CMU|BSD|0BSD|ISC|Apache|PSF|Python Software Foundation|Zlib|CC0)",
    re.IGNORECASE,
)
# Weak copyleft: using the library unchanged puts no obligation on eid's own code.
WEAK = re.compile(r"\b(LGPL|MPL|Mozilla Public License)", re.IGNORECASE)
# Strong copyleft, acknowledged one by one.
COPYLEFT = {
    "mrz": "GPL-3.0: ICAO 9303 MRZ parsing at the counter (eid.registry.mrz). A service run by "
    "its owner conveys nothing; whoever redistributes eid passes it on under GPL-3.0 terms or "
    "swaps the one module that imports it.",
}


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _licence(dist: md.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return str(expression)
    classifiers = [
        c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")
    ]
    if classifiers:
        return "; ".join(classifiers)
    text = str(meta.get("License") or "").strip()
    return text.splitlines()[0] if text else "unknown"


def runtime_licences() -> dict[str, str]:
    found: dict[str, str] = {}
    todo = ["eid"]
    while todo:
        name = todo.pop()
        if _key(name) in found:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:  # an optional dependency not installed here
            continue
        found[_key(name)] = _licence(dist)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    del found["eid"]
    return found


def test_every_runtime_dependency_has_a_licence_eid_may_use() -> None:
    licences = runtime_licences()
    assert len(licences) > 40  # the closure was walked, not just the first level
    refused = {
        name: licence
        for name, licence in licences.items()
        if name not in COPYLEFT and not (PERMISSIVE.search(licence) or WEAK.search(licence))
    }
    assert refused == {}, f"licences to weigh (see docs/operations.md, Licences): {refused}"


def test_the_acknowledged_copyleft_is_still_needed() -> None:
    licences = runtime_licences()
    stale = [name for name in COPYLEFT if name not in licences]
    assert stale == [], f"no longer a dependency, drop it from COPYLEFT: {stale}"
