"""Tables owned by the console: staff accounts and their server-side sessions, and the
regulator's inspection draws with their findings."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from storage.clock import utcnow


class StaffUser(SQLModel, table=True):
    """A person who signs in to the console. ``role`` and ``office_code`` mean what they mean
    for an issuer token (issuer.auth.Role); ``holder_id`` is the person's holder id, shared
    with their API tokens when those were made for the same person, so a notary's
    certificates are theirs whichever way they issued them."""

    __tablename__ = "staff_user"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=40)  # as printed on certificates (a notary signs with it)
    role: str = Field(max_length=20)
    office_code: str | None = Field(default=None, max_length=64, index=True)
    holder_id: uuid.UUID = Field(default_factory=uuid.uuid4, index=True)
    password_hash: str = Field(max_length=200)  # argon2id, PHC string
    totp_sealed: str = Field(max_length=200)  # the TOTP secret, AES-GCM sealed (console.totp)
    totp_last_step: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    failed_signins: int = 0
    locked_until: dt.datetime | None = None
    must_change_password: bool = False
    disabled_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    password_changed_at: dt.datetime = Field(default_factory=utcnow)
    last_signin_at: dt.datetime | None = None


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept, so a
    copy of the database signs nobody in."""

    __tablename__ = "staff_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(index=True, foreign_key="staff_user.id")
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    client: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)
    # Until when a fresh TOTP code allows the powerful actions (accounts, credentials, the
    # signing key): a session taken over without the second factor cannot do them.
    elevated_until: dt.datetime | None = None


class DrawState(StrEnum):
    COMMITTED = "committed"  # parameters and population fixed, published on the ledger; seed block not yet mined
    DRAWN = "drawn"  # seeded from the block after the commitment; the sample is chosen


class InspectionDraw(SQLModel, table=True):
    """A random inspection (双随机、一公开): the parameters and the population are committed
    first, on the ledger; the sample is then chosen with the hash of a block mined after
    the commitment as its seed, so that anyone can re-derive it (console.inspection)."""

    __tablename__ = "inspection_draw"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    office_code: str | None = Field(default=None, max_length=64)  # None: every office
    matter: str | None = Field(default=None, max_length=40)  # None: every matter
    period_from: dt.date
    period_to: dt.date
    sample_size: int
    population_size: int
    population_sha256: str = Field(max_length=64)
    # Committed with the rest: a random nonce (two draws of one population differ), the ledger
    # and the registry whose administrator publishes the commitment.
    nonce: str = Field(max_length=32)
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    registry_address: str = Field(max_length=42)  # the registry contract's address, 0x-hex, lower case
    population_json: str  # the population's certificate numbers, sorted (JSON list), as committed
    commitment: str = Field(max_length=64, unique=True)
    # The commitment of the draw made before this one (64 zeros: the first): the draws form
    # a chain, so a draw made and set aside is named by the next one. Unique: no two draws
    # name the same one, so the chain cannot fork.
    previous_commitment: str = Field(max_length=64, unique=True)
    commit_tx: str | None = Field(default=None, max_length=66)
    commit_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    seed_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    seed_block_hash: str | None = Field(default=None, max_length=66)
    selected_json: str | None = None  # the chosen certificate numbers, in draw order
    state: str = Field(default=DrawState.COMMITTED, max_length=16)
    created_by: str = Field(max_length=120)
    created_at: dt.datetime = Field(default_factory=utcnow)
    drawn_at: dt.datetime | None = None


class FindingOutcome(StrEnum):
    CONFORMING = "conforming"  # 合规
    DEFECTIVE = "defective"  # 存在问题
    FOLLOW_UP = "follow_up"  # 需进一步核查


class InspectionFinding(SQLModel, table=True):
    """The regulator's finding on one drawn certificate (the latest one counts; each is audited)."""

    __tablename__ = "inspection_finding"

    id: int | None = Field(default=None, primary_key=True)
    draw_id: uuid.UUID = Field(index=True, foreign_key="inspection_draw.id")
    certificate_id: uuid.UUID = Field(foreign_key="certificate.id")
    outcome: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=500)
    recorded_by: str = Field(max_length=120)
    recorded_at: dt.datetime = Field(default_factory=utcnow)
