"""Local secrets of the embedded defaults: the key passphrase and the QR key.

Production sets ``NOTARY_KEY_PASSPHRASE`` (and keeps keys in an HSM); on the embedded
defaults a random passphrase is generated once into the data directory, readable by the
owner only, so that keys on disk are still never stored in clear next to nothing.

Several processes may start at once on a new data directory: each secret is generated
under an exclusive lock on the secrets directory (checked for again once the lock is held)
and written atomically, so all of them use the same value and none reads a file that is
empty or half-written.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

from keys.devpki import creation_lock, write_atomic

from .settings import Settings

log = logging.getLogger("notary")


def _read(path: Path) -> bytes:
    """The secret in ``path``; empty if there is none yet. (An empty file, left by an older
    version interrupted while writing it, holds none: it is generated again.)"""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return b""


class SecretMissing(Exception):
    """Asked not to create it, and the secret is not there."""


def _read_or_create(path: Path, make: Callable[[], bytes], on_create: Callable[[], None] | None = None,
                    create: bool = True) -> bytes:
    value = _read(path)  # written atomically: present means complete
    if value:
        return value
    if not create:
        raise SecretMissing(str(path))
    with creation_lock(path.parent):  # makes the directory (0700) if need be
        value = _read(path)
        if value:  # another process made it while this one waited
            return value
        if on_create is not None:
            on_create()
        value = make()
        write_atomic(path, value, 0o600)
        return value


def key_passphrase(settings: Settings, *, create: bool = True) -> bytes:
    """NOTARY_KEY_PASSPHRASE, else the development passphrase of the data directory (made
    on first use unless ``create`` is false: then SecretMissing)."""
    if settings.key_passphrase is not None and settings.key_passphrase.get_secret_value():  # "" is unset
        return settings.key_passphrase.get_secret_value().encode()
    return _read_or_create(
        settings.data_path / "secrets" / "key-passphrase", lambda: secrets.token_urlsafe(32).encode(),
        lambda: log.warning("NOTARY_KEY_PASSPHRASE is not set: "
                            "generating a development passphrase in the data directory"), create)


def qr_key(settings: Settings, *, create: bool = True) -> bytes:
    return _read_or_create(settings.data_path / "secrets" / "qr-key", lambda: secrets.token_hex(32).encode(),
                           create=create)
