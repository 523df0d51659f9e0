"""API keys for registries: create, list, revoke and authenticate (their rate limits:
ratelimit.py).

Every batch request reads the key's row: a revoked or expired key is refused at once by
every process (expiry, revocation and the record of last use: keys/credentials.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.sessions import write_session
from feed.receivers import disable_for_api_key
from records import audit
from keys import credentials
from keys.bearer import new_secret

from .errors import VerifierError
from .models import ApiKey

KEY_PREFIX = "enk_"


class Unauthorised(VerifierError):
    code = "API_KEY_INVALID"
    http_status = 401


def create_api_key(engine: Engine, name: str, items_per_minute: int = 6000, *,
                   expires_at: dt.datetime | None = None, actor: str | None = None,
                   office: str | None = None) -> tuple[ApiKey, str]:
    """Returns the row and the key itself, which is shown once and never stored. With an
    ``actor`` (the CLI's operator) the creation is appended to the audit log."""
    if expires_at is not None and expires_at.utcoffset() is None:
        raise ValueError("expires_at must be an aware datetime")
    key, key_hash = new_secret(KEY_PREFIX)
    row = ApiKey(name=name, key_hash=key_hash, items_per_minute=items_per_minute, expires_at=expires_at)
    with write_session(engine) as s:
        s.expire_on_commit = False
        s.add(row)
        if actor is not None:
            s.flush()
            audit.append(s, actor, "apikey.create", str(row.id), {
                "name": name, "items_per_minute": items_per_minute,
                "expires_at": expires_at.isoformat() if expires_at else None}, office=office)
        s.commit()
    return row, key


def list_api_keys(engine: Engine) -> list[ApiKey]:
    return credentials.listed(engine, ApiKey)


def revoke_api_key(engine: Engine, ref: str, *, actor: str = "cli", office: str | None = None) -> tuple[ApiKey, bool]:
    """Revoke the key with id ``ref``, or the one unrevoked key named ``ref`` (see
    credentials.revoke); the revocation is audited."""
    def record(s: Session, row: ApiKey) -> None:
        audit.append(s, actor, "apikey.revoke", str(row.id), {"name": row.name}, office=office)
        disable_for_api_key(s, row.id, actor)  # the registry's feed ends with its key

    return credentials.revoke(engine, ApiKey, ref, record)


def authenticate_api_key(engine: Engine, authorization: str | None, *, record_use: bool = True) -> ApiKey:
    """The key's row, read from the database now; 401 when the key is unknown, revoked or
    expired. ``record_use`` notes the use (at most once a minute)."""
    row, refused = credentials.find_usable(engine, ApiKey, ApiKey.key_hash, authorization, record_use_=record_use)
    if refused is not None:
        en, zh = {"missing": ("send the registry API key as 'Authorization: Bearer <key>'", "请在 Authorization 头中提供 API 密钥"),
                  "unknown": ("unknown or revoked API key", "API 密钥无效或已注销"),
                  "revoked": ("this API key has been revoked", "API 密钥已注销"),
                  "expired": ("this API key has expired", "API 密钥已过期")}[refused]
        raise Unauthorised(en, zh)
    return row
