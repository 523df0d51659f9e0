"""Bearer tokens for the issuer API: one per notary or administrator, stored hashed, each
with a role and an office. A notary of office A can never act on office B's certificates."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from anchoring.models import utcnow
from keys.secrets import bearer, new_secret, secret_hash

from .errors import IssuerError

TOKEN_PREFIX = "ent_"


class Role(str, Enum):
    NOTARY = "notary"  # issues, revokes and corrects for its own office
    OFFICE_ADMIN = "office_admin"  # the same, and sees all of its office's records
    REGISTRY_ADMIN = "registry_admin"  # supervises: reads every office, issues nothing


class IssuerToken(SQLModel, table=True):
    __tablename__ = "issuer_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    role: str = Field(max_length=20)
    office_code: str | None = Field(default=None, max_length=64)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None


class Unauthenticated(IssuerError):
    code = "AUTH_REQUIRED"
    http_status = 401


class Forbidden(IssuerError):
    code = "FORBIDDEN"
    http_status = 403


@dataclass(frozen=True)
class Principal:
    token_id: uuid.UUID
    name: str
    role: Role
    office_code: str | None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"

    def require_issuer(self, office_code: str) -> None:
        """Issue, revoke, correct: notaries and office administrators of that office only."""
        if self.role not in (Role.NOTARY, Role.OFFICE_ADMIN) or self.office_code != office_code:
            raise Forbidden("this token may not issue or change this office's certificates",
                            "该令牌无权为本公证处出证或变更公证书")

    def can_read(self, office_code: str) -> bool:
        return self.role == Role.REGISTRY_ADMIN or self.office_code == office_code


def create_token(engine: Engine, name: str, role: Role, office_code: str | None) -> tuple[IssuerToken, str]:
    if role != Role.REGISTRY_ADMIN and not office_code:
        raise ValueError("notary and office administrator tokens belong to an office")
    token, token_hash = new_secret(TOKEN_PREFIX)
    row = IssuerToken(name=name, role=role.value, office_code=office_code if role != Role.REGISTRY_ADMIN else None,
                      token_hash=token_hash)
    with Session(engine, expire_on_commit=False) as s:
        s.add(row)
        s.commit()
    return row, token


def authenticate(engine: Engine, authorization: str | None) -> Principal:
    token = bearer(authorization)
    if token is None:
        raise Unauthenticated("send your token as 'Authorization: Bearer <token>'", "请提供身份令牌")
    with Session(engine) as s:
        row = s.exec(select(IssuerToken).where(IssuerToken.token_hash == secret_hash(token))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("unknown or revoked token", "令牌无效或已注销")
    return Principal(row.id, row.name, Role(row.role), row.office_code)


# Issuing routes under these prefixes take a body only from someone who has logged in.
ISSUING_PREFIXES = ("/api/v1/certificates", "/api/v1/drafts")


class AuthenticateFirst:
    """ASGI middleware: an issuing request that carries a body (POST, PUT, PATCH, DELETE)
    is authenticated from its headers before a byte of the body is read, so an anonymous
    caller gets a 401 whatever it sends and never makes the server parse anything. The
    routes still authenticate (and check the role) themselves."""

    def __init__(self, app, engine: Engine):
        self.app = app
        self.engine = engine

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE") \
                and str(scope.get("path", "")).startswith(ISSUING_PREFIXES):
            from starlette.concurrency import run_in_threadpool

            headers = dict(scope.get("headers", []))
            authorization = headers.get(b"authorization", b"").decode("latin-1") or None
            try:
                await run_in_threadpool(authenticate, self.engine, authorization)
            except Unauthenticated as exc:
                body = json.dumps({"error": {"code": exc.code, "message": exc.message, "message_zh": exc.message_zh}},
                                  ensure_ascii=False).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
