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


class InvalidIdNumber(ValueError):
    """The rule an ID number breaks, in English (``str()``) and in Chinese (``message_zh``,
    to follow the field's label)."""

    def __init__(self, message: str, message_zh: str):
        super().__init__(message)
        self.message_zh = message_zh


def validate(id_number: str) -> str:
    """Normalise (upper-case X) and check; raises InvalidIdNumber with the rule that failed."""
    value = id_number.strip().upper()
    if not _PATTERN.match(value):
        raise InvalidIdNumber("must be 18 characters: 17 digits and a digit or X",
                              "应为18位：前17位为数字，最后一位为数字或X")
    if check_digit(value[:17]) != value[17]:
        raise InvalidIdNumber("check digit does not match (GB 11643)", "校验码不符（GB 11643），请核对号码")
    try:
        birth_date(value)
    except ValueError as exc:
        raise InvalidIdNumber("contains an impossible birth date", "中的出生日期不存在") from exc
    return value


def mask(id_number: str) -> str:
    """Public form: region prefix and check digit only, e.g. 310101199003070027 -> 3101*************7."""
    return id_number[:4] + "*" * (len(id_number) - 5) + id_number[-1:]
