"""The documents a TK01 may declare: known kinds, Viet Nam's formats, a state per record."""

from __future__ import annotations

import pytest

from eid.core.errors import ValidationFailed
from eid.registry.documents import check_declared, state_against


def test_known_kinds_are_normalised() -> None:
    assert check_declared(
        {
            "driving_licence": "7901 2345 6789",
            "health_insurance": "dn4010123456789",
            "tax_code": "8012345678-001",
        }
    ) == {
        "driving_licence": "790123456789",
        "health_insurance": "DN4010123456789",
        "tax_code": "8012345678-001",
    }
    assert check_declared({"health_insurance": "0123456789", "tax_code": "079123456789"})
    assert check_declared({}) == {}


@pytest.mark.parametrize(
    ("documents", "code"),
    [
        ({"passport_copy": "x"}, "INTEGRATION_UNKNOWN"),
        ({"tax_code": "801234"}, "INTEGRATION_INVALID"),
        ({"driving_licence": 790123456789}, "INTEGRATION_INVALID"),
        ({"health_insurance": "D4010123456789"}, "INTEGRATION_INVALID"),
        (["tax_code"], "INTEGRATIONS_INVALID"),
    ],
)
def test_anything_else_is_refused_with_what_to_fix(documents: object, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_declared(documents)
    assert refused.value.code == code
    assert refused.value.details["field"] == "integrations"


def test_a_declared_number_against_the_record() -> None:
    assert state_against("8012345678", None) == "declared"
    assert state_against("8012345678", "801 234 5678") == "verified"
    assert state_against("8012345678", "8012345679") == "mismatch"
