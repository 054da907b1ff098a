"""ICAO Doc 9303 machine-readable zone: check digits and the TD3 (passport) layout."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 3, 1)


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
    """The two 44-character lines of a passport MRZ."""
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


class MrzError(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(f"MRZ check digit wrong for {field}")
        self.field = field


def parse_td3(line1: str, line2: str) -> dict[str, str]:
    """Check every check digit of a TD3 MRZ; return the fields. Raises MrzError naming the field."""
    line1, line2 = line1.strip().upper(), line2.strip().upper()
    if len(line1) != 44 or len(line2) != 44:
        raise MrzError("length")
    fields = {
        "number": (line2[0:9], line2[9]),
        "date_of_birth": (line2[13:19], line2[19]),
        "expiry_date": (line2[21:27], line2[27]),
        "optional": (line2[28:42], line2[42]),
    }
    for name, (value, digit) in fields.items():
        if name == "optional" and digit == "<" and set(value) == {"<"}:
            continue
        if check_digit(value) != digit:
            raise MrzError(name)
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    if check_digit(composite) != line2[43]:
        raise MrzError("composite")
    return {
        "doc_type": line1[0:2].rstrip("<"),
        "issuing_state": line1[2:5].rstrip("<"),
        "number": line2[0:9].rstrip("<"),
        "nationality": line2[10:13].rstrip("<"),
        "date_of_birth": line2[13:19],
        "sex": line2[20],
        "expiry_date": line2[21:27],
    }
