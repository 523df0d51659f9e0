"""Bearer tokens for the issuer API: one per notary or administrator, stored hashed, each
with a role and an office. A notary of office A can never act on office B's certificates.

Every request reads the token's row: a revoked or expired token is refused at once by
every process (expiry, revocation and the record of last use: keys/credentials.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from issuer.errors import Forbidden, IssuerError
from keys import credentials
from keys.bearer import new_secret
from records import audit
from records.errors import CertificateNotFound, InvalidMatterData
from records.models import Certificate, Owner
from errors import DatabaseUnavailable, NotaryError
from storage.clock import utcnow
from storage.outages import OUTAGES
from storage.sessions import write_session

log = logging.getLogger("notary.issuer")

TOKEN_PREFIX = "ent_"


class Role(str, Enum):
    NOTARY = "notary"  # issues for its office; reads and changes the certificates it issued
    OFFICE_ADMIN = "office_admin"  # issues; reads and changes every certificate of its office
    REGISTRY_ADMIN = "registry_admin"  # supervises: reads every office, issues and changes nothing
    CLIENT = "client"  # a registered client (lawyer, company): submits evidence for preservation, reads its own


class IssuerToken(SQLModel, table=True):
    __tablename__ = "issuer_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=120)
    role: str = Field(max_length=20)
    office_code: str | None = Field(default=None, max_length=64)
    # The person: every token of one person has the same holder id (token create --holder).
    holder_id: uuid.UUID | None = Field(default_factory=uuid.uuid4, index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None  # written at most once a minute


class Unauthenticated(IssuerError):
    code = "AUTH_REQUIRED"
    http_status = 401


@dataclass(frozen=True)
class Principal:
    token_id: uuid.UUID
    name: str
    role: Role
    office_code: str | None
    holder_id: uuid.UUID | None = None

    @property
    def owner(self) -> Owner:
        return Owner(self.name, self.holder_id)

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"

    def require_issuer(self, office_code: str) -> None:
        """Issue and prepare drafts: notaries and office administrators of that office only."""
        if self.role not in (Role.NOTARY, Role.OFFICE_ADMIN) or self.office_code != office_code:
            raise Forbidden("this token may not issue or change this office's certificates",
                            "该令牌无权为本公证处出证或变更公证书")

    def _sees(self, cert: Certificate) -> None:
        if self.role != Role.REGISTRY_ADMIN and cert.office_code != self.office_code:
            # Another office's certificate is reported exactly like a missing one.
            raise CertificateNotFound("no certificate with this id", "没有此编号的公证书")
        if self.role in (Role.NOTARY, Role.CLIENT) and (cert.issued_by_holder is None
                                                        or cert.issued_by_holder != self.holder_id):
            raise Forbidden("this certificate was issued by another notary; ask your office administrator",
                            "该公证书由本处其他公证员出具，请联系公证处管理员")

    def check_read(self, cert: Certificate) -> None:
        """Read a certificate's record or PDF: a registry administrator any office's, an
        office administrator their office's, a notary only those they issued."""
        self._sees(cert)

    def check_change(self, cert: Certificate) -> None:
        """Revoke or correct: an office administrator any of their office's certificates, a
        notary only those they issued; a registry administrator none."""
        self._sees(cert)
        if self.role == Role.REGISTRY_ADMIN:
            raise Forbidden("a registry administrator supervises and may not change certificates",
                            "监管账号只能查阅，不能变更公证书")
        if self.role == Role.CLIENT:
            raise Forbidden("a client may not revoke or correct certificates; ask the office",
                            "客户账号不能撤销或更正公证书，请联系公证处")

    def require_client(self, office_code: str) -> None:
        """Submit evidence for preservation: a registered client of that office, or its staff
        acting for a walk-in client."""
        if self.role not in (Role.CLIENT, Role.NOTARY, Role.OFFICE_ADMIN) or self.office_code != office_code:
            raise Forbidden("this token may not submit evidence to this office",
                            "该令牌无权向本公证处申请电子证据保全")

    def name_as_notary(self, data: object) -> object:
        """The matter data with the notary named as the law requires: a notary's token issues
        only in its holder's name (filled in when left out, refused when another is named).
        An office administrator names the notary in the data."""
        if self.role != Role.NOTARY or not isinstance(data, dict):
            return data
        named = data.get("notary")
        if named is None or (isinstance(named, str) and named.strip() == self.name):
            return {**data, "notary": self.name}
        raise InvalidMatterData(
            f"the notary named must be the holder of this token, {self.name}", [{
                "field": "notary", "rule": "token_holder",
                "message": f"a certificate issued with {self.name}'s token names {self.name} as its notary",
                "message_zh": f"公证员姓名：以{self.name}的令牌出具的公证书只能由{self.name}署名"}],
            f"公证员姓名须为令牌持有人{self.name}")

    def visible(self, query: SelectOfScalar[Certificate]) -> SelectOfScalar[Certificate]:
        """``query`` (a select of Certificate) narrowed to what this principal may read."""
        if self.role != Role.REGISTRY_ADMIN:
            query = query.where(Certificate.office_code == self.office_code)
        if self.role in (Role.NOTARY, Role.CLIENT):
            query = query.where(Certificate.issued_by_holder == self.holder_id)
        return query


def create_token(engine: Engine, name: str, role: Role, office_code: str | None, *,
                 expires_at: dt.datetime | None = None, actor: str | None = None,
                 holder: uuid.UUID | None = None) -> tuple[IssuerToken, str]:
    """Returns the row and the token itself, which is shown once and never stored. With an
    ``actor`` (the CLI's operator) the creation is appended to the audit log. ``holder``:
    another token of the same person (a replacement, a second device), who then keeps their
    certificates and drafts; without it the token is a new person's."""
    if role != Role.REGISTRY_ADMIN and not office_code:
        raise ValueError("notary and office administrator tokens belong to an office")
    if expires_at is not None and expires_at.utcoffset() is None:
        raise ValueError("expires_at must be an aware datetime")
    office = office_code if role != Role.REGISTRY_ADMIN else None
    token, token_hash = new_secret(TOKEN_PREFIX)
    row = IssuerToken(name=name, role=role.value, office_code=office, token_hash=token_hash, expires_at=expires_at,
                      holder_id=holder or uuid.uuid4())
    with write_session(engine) as s:
        s.expire_on_commit = False
        if holder is not None:
            same = s.exec(select(IssuerToken).where(IssuerToken.holder_id == holder)).first()
            if same is None or same.name != name or same.office_code != office:
                raise ValueError(f"holder {holder} is not {name} of {office}: give the id printed with their other token")
        s.add(row)
        if actor is not None:
            s.flush()
            audit.append(s, actor, "token.create", str(row.id), {
                "name": name, "role": row.role, "office": row.office_code,
                "expires_at": expires_at.isoformat() if expires_at else None}, office=row.office_code)
        s.commit()
    return row, token


def namesakes(engine: Engine, name: str, office_code: str | None) -> list[IssuerToken]:
    """Unrevoked tokens of people called ``name`` in ``office_code``."""
    with Session(engine) as s:
        return list(s.exec(select(IssuerToken).where(IssuerToken.name == name, IssuerToken.office_code == office_code,
                                                     col(IssuerToken.revoked_at).is_(None))))


def list_tokens(engine: Engine) -> list[IssuerToken]:
    return credentials.listed(engine, IssuerToken)


def revoke_token(engine: Engine, ref: str, *, actor: str = "cli") -> tuple[IssuerToken, bool]:
    """Revoke the token with id ``ref``, or the one unrevoked token named ``ref`` (see
    credentials.revoke); the revocation is audited."""
    def record(s: Session, row: IssuerToken) -> None:
        audit.append(s, actor, "token.revoke", str(row.id), {"name": row.name, "role": row.role,
                                                               "office": row.office_code}, office=row.office_code)

    return credentials.revoke(engine, IssuerToken, ref, record)


def authenticate_token(engine: Engine, authorization: str | None, *, record_use: bool = True) -> Principal:
    """The token's principal, read from the database now; 401 when the token is unknown,
    revoked or expired. ``record_use`` notes the use (at most once a minute)."""
    row, refused = credentials.find_usable(engine, IssuerToken, IssuerToken.token_hash, authorization,
                                           record_use_=record_use)
    if refused is not None:
        en, zh = {"missing": ("send your token as 'Authorization: Bearer <token>'", "请提供身份令牌"),
                  "unknown": ("unknown or revoked token", "令牌无效或已注销"),
                  "revoked": ("this token has been revoked", "令牌已注销"),
                  "expired": ("this token has expired", "令牌已过期")}[refused]
        raise Unauthenticated(en, zh)
    return Principal(row.id, row.name, Role(row.role), row.office_code, row.holder_id)


# Issuing routes under these prefixes take a body only from someone who has logged in.
ISSUING_PREFIXES = ("/api/v1/certificates", "/api/v1/drafts")


class AuthenticateFirst:
    """ASGI middleware: an issuing request that carries a body (POST, PUT, PATCH, DELETE)
    is authenticated from its headers before a byte of the body is read, so an anonymous
    caller gets a 401 whatever it sends and never makes the server parse anything. The
    routes still authenticate (and check the role) themselves."""

    def __init__(self, app, engine: Engine, prefixes: tuple[str, ...] = ISSUING_PREFIXES):
        """``prefixes``: the paths whose writing requests need a token (other packages' too:
        evidence preservation's)."""
        self.app = app
        self.engine = engine
        self.prefixes = prefixes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH", "DELETE") \
                and str(scope.get("path", "")).startswith(self.prefixes):
            from starlette.concurrency import run_in_threadpool

            headers = dict(scope.get("headers", []))
            authorization = headers.get(b"authorization", b"").decode("latin-1") or None
            try:
                # The route authenticates again and records the use; this check only refuses.
                await run_in_threadpool(authenticate_token, self.engine, authorization, record_use=False)
            except Unauthenticated as exc:
                await _refuse(send, exc, [(b"www-authenticate", b"Bearer")])
                return
            except OUTAGES as exc:
                log.warning("database unavailable: %s", type(exc).__name__)
                away = DatabaseUnavailable()
                await _refuse(send, away, [(k.lower().encode(), v.encode()) for k, v in away.headers().items()])
                return
        await self.app(scope, receive, send)


async def _refuse(send, exc: NotaryError, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"error": {"code": exc.code, "message": exc.message, "message_zh": exc.message_zh}},
                      ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": exc.http_status, "headers": [
        (b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})
