from __future__ import annotations

from eid.core.ids import is_valid_eid_number, new_eid_number


def test_new_numbers_are_12_digits_with_a_valid_check_digit() -> None:
    numbers = {new_eid_number() for _ in range(2000)}
    assert len(numbers) == 2000
    assert all(len(n) == 12 and n.isdigit() and n[0] != "0" for n in numbers)
    assert all(is_valid_eid_number(n) for n in numbers)


def test_check_digit_catches_typos_and_transpositions() -> None:
    number = new_eid_number()
    for i in range(12):
        for d in "0123456789":
            if d != number[i]:
                assert not is_valid_eid_number(number[:i] + d + number[i + 1 :])
    for i in range(11):
        if number[i] != number[i + 1]:
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
            assert not is_valid_eid_number(swapped)
