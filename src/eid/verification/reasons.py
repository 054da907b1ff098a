"""Why a check came out as it did, as a catalogue message an officer reads in their language.

A check's reason is a message id of the `messages` catalogues with named parameters (a parameter
that is itself a message id, such as a field's name or a registry status, is translated with its
sentence). The run keeps the English text in the check's `reason` column (audit, and what older
readers show) and the message itself in its `details` (`DETAILS_KEY`), so it can be shown in any
language later. A row written before reasons were messages has no message: it shows its text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eid.i18n import FALLBACK, N_, Msgid, gettext

# {"msgid": "...", "params": {...}} in `ApplicationCheck.details`; a parameter that is a message
# id is kept as {"msgid": "..."} (a list of them as a list), so it is translated when shown.
DETAILS_KEY = "reason"

# The TK01 data compared with the immigration database, in words (never column names).
FIELDS: dict[str, Msgid] = {
    "date_of_birth": N_("date of birth"),
    "nationality": N_("nationality"),
    "sex": N_("sex"),
}
# The documents a TK01 may declare (`eid.registry.documents.KINDS`), in words.
DOCUMENTS: dict[str, Msgid] = {
    "driving_licence": N_("driving licence"),
    "health_insurance": N_("health insurance card"),
    "tax_code": N_("tax code"),
}
# How the immigration database marks a person who is no longer resident; a status it may add
# later reads as the database writes it.
REGISTRY_STATUSES: dict[str, Msgid] = {
    "exited": N_("as having left Viet Nam"),
    "deceased": N_("as deceased"),
}
# The checks by name, as the refusal that lists the failed ones names them.
TITLES: dict[str, Msgid] = {
    "registry_record": N_("Record in the immigration database"),
    "identity_data": N_("Personal data"),
    "passport": N_("Passport"),
    "residence_card": N_("Residence card"),
    "face_1to1": N_("Face against the photo on file"),
    "fingerprints_1to1": N_("Fingerprints against those on file"),
    "duplicates_1toN": N_("Search for duplicate identities"),
    "declared_documents": N_("Declared documents"),
}


def field_names(names: Iterable[str]) -> list[Msgid]:
    return [FIELDS[name] for name in names]


def document_names(kinds: Iterable[str]) -> list[Msgid]:
    # A kind the list does not name (none today: TK01 refuses others) reads as its code.
    return [DOCUMENTS.get(kind, Msgid(kind)) for kind in kinds]


def registry_status(status: str) -> str:
    return REGISTRY_STATUSES.get(status, status)


def english(msgid: Msgid, params: Mapping[str, Any]) -> str:
    """The reason as kept in the `reason` column."""
    return gettext(FALLBACK, msgid, **params)


def _encode(value: Any) -> Any:
    if isinstance(value, Msgid):
        return {"msgid": str(value)}
    if isinstance(value, list | tuple) and value and all(isinstance(v, Msgid) for v in value):
        return [{"msgid": str(v)} for v in value]
    return value


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"msgid"} and isinstance(value["msgid"], str)


def _decode(value: Any) -> Any:
    if _is_message(value):
        return Msgid(value["msgid"])
    if isinstance(value, list) and value and all(_is_message(v) for v in value):
        return [Msgid(v["msgid"]) for v in value]
    return value


def stored(msgid: Msgid, params: Mapping[str, Any]) -> dict[str, Any]:
    """The reason as kept in the check's `details` (JSON)."""
    return {"msgid": str(msgid), "params": {name: _encode(v) for name, v in params.items()}}


def has_message(details: Mapping[str, Any] | None) -> bool:
    kept = (details or {}).get(DETAILS_KEY)
    return isinstance(kept, dict) and isinstance(kept.get("msgid"), str)


def reason_in(language: str, text: str | None, details: Mapping[str, Any] | None) -> str | None:
    """A check's reason in `language`: from its message, else (a row written before reasons
    were messages, or one whose message no longer fits its parameters) its stored text."""
    if not has_message(details):
        return text
    assert details is not None
    kept = details[DETAILS_KEY]
    params = kept.get("params")
    values = {name: _decode(v) for name, v in params.items()} if isinstance(params, dict) else {}
    try:
        # Placeholders without their values must not reach the officer (gettext fills none
        # when given no parameters).
        str(kept["msgid"]) % values
        return gettext(language, kept["msgid"], **values)
    except (KeyError, ValueError, TypeError):
        return text


def _title(language: str, name: str) -> str:
    return gettext(language, TITLES[name]) if name in TITLES else name


def failures(language: str, failed: Iterable[tuple[str, str | None]]) -> str:
    """A refusal that lists the failed checks: (name, reason already in `language`) each."""
    return "; ".join(
        f"{_title(language, name)}: {reason}" if reason else _title(language, name)
        for name, reason in failed
    )
