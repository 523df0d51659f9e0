"""Settings from environment variables prefixed ``NOTARY_`` (pydantic-settings)."""

from __future__ import annotations

from functools import cached_property
from typing import Literal
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


class Settings(BaseSettings):
    """Everything configurable. Defaults give the embedded, zero-set-up service."""

    model_config = SettingsConfigDict(env_prefix="NOTARY_", extra="ignore")

    # Defaults are named (default=...): type checkers take a positional one for a required field.
    data_dir: Path = Field(default=Path("./data"),
                           description="where keys, the SQLite database and the chain state live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in the data directory")
    rpc_url: str | None = Field(default=None, description="EVM JSON-RPC URL; unset = start the embedded anvil node")
    contract_address: str | None = Field(default=None, description="registry contract on an external node")
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="base of URLs printed in QR codes")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1, le=64,
                         description="API processes of `notary serve` (a supervisor restarts a dead one)")

    key_passphrase: SecretStr | None = Field(
        default=None, description="encrypts private keys at rest; unset = generated once into the data directory"
    )
    admin_private_key: SecretStr | None = Field(default=None, description="registry administrator key (external node)")
    anchor_private_key: SecretStr | None = Field(default=None, description="office anchoring key (external node)")

    office_name: str = "上海市东方公证处"
    office_code: str = "SH-DONGFANG"
    office_abbrev: str = Field(default="沪东",
                               description="short form used in certificate numbers, e.g. (2026)沪东证字第000123号")
    cjk_font: Path = DEFAULT_FONT
    signing_key_pem: Path | None = Field(default=None, description="office key as an encrypted PEM (PKCS#8) file; "
                                         "unset: the PKCS#12 file in the data directory")
    signing_cert_pem: Path | None = Field(default=None, description="its certificate, then the chain (PEM)")
    pkcs11_module: Path | None = Field(default=None, description="PKCS#11 module of the HSM holding the office key")
    pkcs11_token: str | None = Field(default=None, description="token label")
    pkcs11_pin: SecretStr | None = None
    pkcs11_key_label: str = "office-signing"
    pkcs11_cert: Path | None = Field(default=None, description="PEM: the HSM key's certificate, then its chain")
    signature_level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = Field(
        default="B-T", description="PAdES baseline level of issued certificates (B-LT/B-LTA embed validation data)")
    tsa_url: str | None = Field(default=None, description="the office's RFC 3161 TSA; unset = the development TSA")

    confirmations: int = Field(default=1, ge=1,
                               description="blocks (including the anchoring one) before an anchor counts")
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    batch_age_seconds: float = Field(default=5.0, gt=0)
    chain_timeout_seconds: float = Field(default=10.0, gt=0)
    trusted_proxies: list[str] = Field(default_factory=list, description="addresses or CIDR ranges of reverse "
                                        "proxies whose X-Forwarded-For is believed (JSON list)")
    upload_rate_per_minute: float = Field(default=60, gt=0, description="PDF uploads one client may send a minute")
    upload_slots: int = Field(default=4, ge=1, description="uploads verified at once (each holds one worker thread)")
    key_check_seconds: float = Field(default=2.0, ge=0,
                                     description="how often issuing re-checks the office key "
                                                 "(rotated on disk, expired, revoked, retired on the ledger)")
    worker_enabled: bool = Field(default=True, description="run the anchoring worker inside `notary serve`")
    follower_enabled: bool = Field(default=True, description="run the ledger follower inside `notary serve`")
    mirror_lookups: bool = Field(default=True, description="lookups by id, fingerprint and number read the ledger "
                                 "mirror (false: they ask the node each time, as uploads do)")
    mirror_max_lag_blocks: int = Field(default=12, ge=0, description="a lookup answers INDETERMINATE (LEDGER_STALE) "
                                       "when the ledger mirror is more blocks than this behind the node")
    mirror_max_age_seconds: float = Field(default=30.0, gt=0, description="... or when the follower has not read "
                                          "the node for this long")

    console_secure_cookies: bool = Field(default=True, description="staff console cookies are Secure with the "
                                         "__Host- prefix (browsers accept them over HTTPS and from 127.0.0.1/localhost)")
    console_idle_minutes: float = Field(default=15, gt=0, le=24 * 60,
                                        description="a console session ends after this long without a request")
    console_session_hours: float = Field(default=8, gt=0, le=7 * 24,
                                         description="... and this long after signing in, whatever happens")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)

    feed_enabled: bool = Field(default=True, description="deliver the feed's webhooks inside `notary serve` "
                               "(and `notary worker`)")
    feed_link_hours: float = Field(default=72, gt=0, le=30 * 24,
                                   description="a certificate download link in a feed event works this long")
    feed_dead_after_hours: float = Field(default=24, gt=0, le=30 * 24,
                                         description="an event not delivered for this long is dead-lettered")
    feed_timeout_seconds: float = Field(default=10, gt=0, le=120, description="one webhook request's time limit")
    feed_allow_insecure_receivers: bool = Field(default=False, description="allow http:// receivers and private, "
                                                "loopback or link-local addresses (development and tests only)")
    preservation_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024,
                                        description="the largest file accepted for evidence preservation")
    preservation_retention_days: int = Field(default=3650, ge=1, le=36500,
                                             description="how long a preserved file is kept by default")
    preservation_notary: str | None = Field(default=None, min_length=1, max_length=40,
                                            description="the notary named on preservation certificates that a "
                                            "client or an office administrator requests (a notary's own are theirs)")
    lookup_cache_seconds: float = Field(default=1.0, ge=0,
                                        description="public status/fingerprint answers are reused this long")
    signing_processes: int = Field(default=0, ge=0, le=64,
                                   description="processes that render and sign (0: one per core) "
                                               "for the server and bulk issuing; keys in files only")
    access_log: bool = Field(default=False, description="log every HTTP request (uvicorn's access log)")
    metrics_token: str | None = Field(default=None, description="bearer token for /metrics (unset: this machine only)")
    log_format: str = Field(default="json", pattern="^(json|text)$",
                            description="serve/worker logs: JSON lines with request ids, or plain text")
    redis_url: str | None = Field(default=None, description="Redis for rate limits shared by several API processes")
    redis_prefix: str = Field(default="notary:", max_length=64, description="key prefix in Redis (one per deployment)")
    parser_processes: int = Field(default=2, ge=1, le=64, description="sandboxed PDF parser processes of the API")
    parse_timeout_seconds: float = Field(default=10.0, gt=0, description="a PDF taking longer to check is refused")

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @cached_property
    def data_path(self) -> Path:
        return self.data_dir.resolve()

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'notary.sqlite3'}"
