"""Staff passwords: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation) and
the rules a new password must meet."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import InvalidAccount

MIN_LENGTH = 12
MAX_LENGTH = 128  # argon2 takes any length; a megabyte "password" is only work for the server

_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
# Hashed once, so that an unknown user name costs what a wrong password costs.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """True when ``password`` is the one ``stored`` was made from. With no stored hash (an
    unknown user) a dummy is checked, so both cases take the same time."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """The hash was made with weaker parameters than today's: store a new one at sign-in."""
    return _HASHER.check_needs_rehash(stored)


def check_new_password(password: str, username: str) -> None:
    """Refuse a password that is too short, too long, or the user name in another form."""
    if len(password) < MIN_LENGTH:
        raise InvalidAccount(f"a password needs at least {MIN_LENGTH} characters",
                             f"密码至少需要{MIN_LENGTH}个字符")
    if len(password) > MAX_LENGTH:
        raise InvalidAccount(f"a password may have at most {MAX_LENGTH} characters", f"密码最多{MAX_LENGTH}个字符")
    if username.lower() in password.lower() or len(set(password)) < 5:
        raise InvalidAccount("the password is too easy to guess (it contains the user name or repeats a few "
                             "characters)", "密码过于简单（包含用户名或字符重复过多）")


def temporary_password(username: str) -> str:
    """A password for a new or reset account, changed at the first sign-in; one that meets
    the rules for ``username`` (a random one may hold a short user name by chance)."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            check_new_password(password, username)
        except InvalidAccount:
            continue
        return password
