"""Chinese resident identity numbers (GB 11643-1999): check digit, birth date, masking."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PATTERN = re.compile(r"^\d{17}[\dX]$")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def birth_date(id_number: str) -> dt.date:
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def validate(id_number: str) -> str:
    """Normalise (upper-case X) and check; raises ValueError with the rule that failed."""
    value = id_number.strip().upper()
    if not _PATTERN.match(value):
        raise ValueError("must be 18 characters: 17 digits and a digit or X")
    if check_digit(value[:17]) != value[17]:
        raise ValueError("check digit does not match (GB 11643)")
    try:
        birth_date(value)
    except ValueError as exc:
        raise ValueError("contains an impossible birth date") from exc
    return value


def mask(id_number: str) -> str:
    """Public form: region prefix and check digit only, e.g. 310101199003070027 -> 3101*************7."""
    return id_number[:4] + "*" * (len(id_number) - 5) + id_number[-1:]
