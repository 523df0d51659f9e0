"""API keys for registries: create and authenticate (their rate limits: ratelimit.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from keys.secrets import bearer, new_secret, secret_hash

from .errors import VerifierError
from .models import ApiKey

KEY_PREFIX = "enk_"


class Unauthorised(VerifierError):
    code = "API_KEY_INVALID"
    http_status = 401


def create_api_key(engine: Engine, name: str, items_per_minute: int = 6000) -> tuple[ApiKey, str]:
    """Returns the row and the key itself, which is shown once and never stored."""
    key, key_hash = new_secret(KEY_PREFIX)
    row = ApiKey(name=name, key_hash=key_hash, items_per_minute=items_per_minute)
    with Session(engine, expire_on_commit=False) as s:
        s.add(row)
        s.commit()
    return row, key


def authenticate(engine: Engine, authorization: str | None) -> ApiKey:
    key = bearer(authorization)
    if key is None:
        raise Unauthorised("send the registry API key as 'Authorization: Bearer <key>'",
                           "请在 Authorization 头中提供 API 密钥")
    with Session(engine) as s:
        row = s.exec(select(ApiKey).where(ApiKey.key_hash == secret_hash(key))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorised("unknown or revoked API key", "API 密钥无效或已注销")
    return row
