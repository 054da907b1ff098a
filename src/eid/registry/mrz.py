"""ICAO Doc 9303 machine-readable zones, read by the maintained `mrz` library (PyPI).

`read` takes what an officer types, or a document reader types for them, and recognises every
layout a foreign resident brings to the counter: passports (TD3), ID cards (TD1 and TD2) and
visas (MRV-A and MRV-B). Every check digit is validated by the library; a refusal names the
field in this module's own stable words (`MrzError.field`), never the library's messages.

`td3` and `check_digit` stay: tests and the reference registry write specimen passports."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from mrz.base.errors import FieldError
from mrz.checker.mrva import MRVACodeChecker
from mrz.checker.mrvb import MRVBCodeChecker
from mrz.checker.td1 import TD1CodeChecker
from mrz.checker.td2 import TD2CodeChecker
from mrz.checker.td3 import TD3CodeChecker

from eid.core import clock

_WEIGHTS = (7, 3, 1)
# The field named in a refusal, from the library's report (its texts are not a contract: one
# this table does not know is reported as `format`). Check digits first: the clearest cause.
_FIELDS = (
    ("document number hash", "number"),
    ("birth date hash", "date_of_birth"),
    ("expiry date hash", "expiry_date"),
    ("optional data hash", "optional"),
    ("final hash", "composite"),
    ("document number format", "number"),
    ("birth date", "date_of_birth"),
    ("expiry date", "expiry_date"),
    ("valid country code", "issuing_state"),
    ("valid nationality code", "nationality"),
    ("valid genre format", "sex"),
    ("document type format", "document_type"),
    ("identifier", "name"),
)
# (lines, width) of each layout; a visa's document code starts with V.
_LAYOUTS = {(3, 30): "TD1", (2, 36): "TD2", (2, 44): "TD3"}


class MrzError(ValueError):
    """The MRZ is refused; `field` is one of: length, number, date_of_birth, expiry_date,
    optional, composite, issuing_state, nationality, sex, document_type, name, format."""

    def __init__(self, field: str) -> None:
        super().__init__(f"MRZ not valid: {field}")
        self.field = field


@dataclass(frozen=True)
class MachineReadableZone:
    layout: str  # TD1, TD2, TD3, MRVA, MRVB
    document_type: str
    issuing_state: str
    number: str
    nationality: str
    date_of_birth: dt.date
    sex: str  # M, F or X
    expiry_date: dt.date
    surname: str
    given_names: str
    lines: tuple[str, ...]

    @property
    def is_visa(self) -> bool:
        return self.layout in ("MRVA", "MRVB")

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.given_names) if part)


def _value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    if ch == "<":
        return 0
    raise ValueError(f"character {ch!r} is not allowed in an MRZ")


def check_digit(field: str) -> str:
    return str(sum(_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def _lines(text: str) -> list[str]:
    """The zone's lines, however typed: spaces dropped, case raised, one long line (a reader
    that types no line breaks) cut at the layout's width."""
    lines = [re.sub(r"\s+", "", line).upper() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) == 1:
        joined = lines[0]
        for (count, width), _ in _LAYOUTS.items():
            if len(joined) == count * width:
                return [joined[i : i + width] for i in range(0, len(joined), width)]
    return lines


def _layout(lines: list[str]) -> str:
    widths = {len(line) for line in lines}
    if len(widths) != 1:
        raise MrzError("length")
    layout = _LAYOUTS.get((len(lines), widths.pop()))
    if layout is None:
        raise MrzError("length")
    if lines[0].startswith("V") and layout in ("TD2", "TD3"):
        return "MRVB" if layout == "TD2" else "MRVA"
    return layout


_CHECKERS: dict[str, Any] = {
    "TD1": TD1CodeChecker,
    "TD2": TD2CodeChecker,
    "TD3": TD3CodeChecker,
    "MRVA": MRVACodeChecker,
    "MRVB": MRVBCodeChecker,
}


def _date(yymmdd: str, *, past: bool) -> dt.date:
    """A YYMMDD date: a birth date is the latest such day not in the future; an expiry date is
    in this century unless that puts it over 50 years ahead (an old document's)."""
    try:
        day = dt.datetime.strptime(yymmdd, "%y%m%d").date()
        today = clock.today_vn()
        day = day.replace(year=2000 + day.year % 100)
        if (past and day > today) or (not past and day.year > today.year + 50):
            day = day.replace(year=day.year - 100)
    except ValueError:  # not a date, or 29 February in a year that has none
        raise MrzError("date_of_birth" if past else "expiry_date") from None
    return day


def read(text: str) -> MachineReadableZone:
    """The zone's data once every check digit holds; raises MrzError naming the field."""
    lines = _lines(text)
    if not lines or any(not re.fullmatch(r"[A-Z0-9<]+", line) for line in lines):
        raise MrzError("format")
    layout = _layout(lines)
    try:
        checker = _CHECKERS[layout]("\n".join(lines))
    except FieldError:
        raise MrzError("format") from None
    if not checker:
        errors = " | ".join(checker.report.errors)
        for phrase, field in _FIELDS:
            if phrase in errors:
                raise MrzError(field)
        raise MrzError("format")
    f = checker.fields()
    sex = f.sex if f.sex in ("M", "F") else "X"
    return MachineReadableZone(
        layout=layout,
        document_type=f.document_type.replace("<", ""),
        issuing_state=f.country.replace("<", ""),
        number=f.document_number.replace("<", ""),
        nationality=f.nationality.replace("<", ""),
        date_of_birth=_date(f.birth_date, past=True),
        sex=sex,
        expiry_date=_date(f.expiry_date, past=False),
        surname=f.surname.strip(),
        given_names=f.name.strip(),
        lines=tuple(lines),
    )


def _yymmdd(day: dt.date) -> str:
    return day.strftime("%y%m%d")


def _name_field(full_name: str, width: int = 39) -> str:
    parts = re.sub(r"[^A-Z ]", "", full_name.upper()).split()
    if not parts:
        return "<" * width
    surname, given = parts[0], parts[1:]
    text = surname + "<<" + "<".join(given)
    return (text + "<" * width)[:width]


def td3(
    *,
    doc_type: str,
    issuing_state: str,
    full_name: str,
    number: str,
    nationality: str,
    date_of_birth: dt.date,
    sex: str,
    expiry_date: dt.date,
) -> tuple[str, str]:
    """The two 44-character lines of a passport MRZ (specimens for tests and the demo)."""
    line1 = (doc_type.ljust(2, "<") + issuing_state.ljust(3, "<") + _name_field(full_name))[:44]
    num = number.ljust(9, "<")[:9]
    dob = _yymmdd(date_of_birth)
    exp = _yymmdd(expiry_date)
    sex_code = sex if sex in ("M", "F") else "<"
    optional = "<" * 14
    body = (
        num
        + check_digit(num)
        + nationality.ljust(3, "<")
        + dob
        + check_digit(dob)
        + sex_code
        + exp
        + check_digit(exp)
        + optional
        + check_digit(optional)
    )
    composite = num + check_digit(num) + dob + check_digit(dob) + exp + check_digit(exp) + optional
    return line1, body + check_digit(composite)


def parse_td3(line1: str, line2: str) -> dict[str, str]:
    """A passport's two lines, checked, as the TK01 comparison reads them (dates YYMMDD)."""
    zone = read(f"{line1}\n{line2}")
    if zone.layout != "TD3":
        raise MrzError("length")
    return {
        "doc_type": zone.document_type,
        "issuing_state": zone.issuing_state,
        "number": zone.number,
        "nationality": zone.nationality,
        "date_of_birth": _yymmdd(zone.date_of_birth),
        "sex": zone.lines[1][20],
        "expiry_date": _yymmdd(zone.expiry_date),
    }
