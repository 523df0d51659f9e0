"""Local secrets of the embedded defaults: the key passphrase and the QR key.

Production sets ``NOTARY_KEY_PASSPHRASE`` (and keeps keys in an HSM); on the embedded
defaults a random passphrase is generated once into the data directory, readable by the
owner only, so that keys on disk are still never stored in clear next to nothing.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from .settings import Settings

log = logging.getLogger("notary")


def _read_or_create(path: Path, make) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    return value


def key_passphrase(settings: Settings) -> bytes:
    if settings.key_passphrase is not None:
        return settings.key_passphrase.get_secret_value().encode()
    path = settings.data_path / "secrets" / "key-passphrase"
    if not path.exists():
        log.warning("NOTARY_KEY_PASSPHRASE is not set: generating a development passphrase in the data directory")
    return _read_or_create(path, lambda: secrets.token_urlsafe(32).encode())


def qr_key(settings: Settings) -> bytes:
    return _read_or_create(settings.data_path / "secrets" / "qr-key", lambda: secrets.token_hex(32).encode())
