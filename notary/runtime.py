"""Wire the parts together for one data directory: keys, database, chain and contract.

``open_runtime`` is idempotent: the first run creates the development PKI, the database,
starts the embedded chain node and deploys the registry; later runs reuse all of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pyhanko.sign.timestamps import DummyTimeStamper
from sqlalchemy.engine import Engine

from console import staff_sessions, totp
from console.web import ConsoleContext
from anchoring.accounts import ChainAccounts, fund_on_dev_node, load_or_create_accounts
from anchoring.chain import RegistryClient, account_from_key, connect
from anchoring.errors import AnchoringError, ChainUnavailable, ContractNotDeployed
from anchoring.follower import Follower
from anchoring.mirror import LedgerMirror
from anchoring.node import EmbeddedNode
from anchoring.worker import AnchorWorker, WorkerConfig
from feed import events as feed_events
from feed import receivers
from feed.dispatcher import FeedConfig, FeedWorker
from feed.links import link_key
from feed.payloads import LinkMaker
from feed.models import EventKind
from records import audit
from storage.sessions import write_session
from issuer.key_guard import SigningKeyGuard, certificate_window_problem
from signing.pades import LongTermMaterial, SignatureLevel
from issuer.service import IssuerContext, Office
from preservation.context import PreservationContext, make_context
from issuer.signing_pool import SigningPool, SigningSetup
from keys.tsa import development_tsa, timestamper
from keys.crl import ensure_crl, ensure_root_crl, revoke_serial, revoked_serials
from keys.devpki import SERVICE_P12, OfficeIdentity, ensure_dev_pki, ensure_service_signer, ensure_tsa, rotate_signing_key
from keys.errors import KeyStoreError
from keys.pkcs11_store import Pkcs11Config, load_pkcs11_signer
from keys.store import FileKeyStore, OfficeSigner, load_certificates, load_pkcs12_signer
from verifier.client_address import parse_networks
from verifier.ratelimit import make_limiters
from verifier.microcache import MicroCache
from verifier.sandbox import ParserPool
from verifier.service import VerifierContext
from verifier.trust_bundle import Checkpoint, TrustBundle

from . import installation_secrets
from .database import make_engine, migrate
from .settings import Settings

log = logging.getLogger("notary")
DEV_CHAIN_IDS = frozenset({31337, 1337})


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    office: Office
    passphrase: bytes = field(repr=False)
    qr_key: bytes = field(repr=False)
    node: EmbeddedNode | None = None
    registry: RegistryClient | None = None
    accounts: ChainAccounts | None = field(default=None, repr=False)
    read_only: bool = False  # opened for verifying: nothing is created (open_runtime(create=False))

    @property
    def pki_dir(self) -> Path:
        return self.settings.data_path / "pki"

    @cached_property
    def signer(self) -> OfficeSigner:
        """The office key: in an HSM when NOTARY_PKCS11_MODULE is set, else the PKCS#12 file."""
        s = self.settings
        if s.pkcs11_module is not None:
            if not (s.pkcs11_token and s.pkcs11_pin and s.pkcs11_cert):
                raise KeyStoreError("NOTARY_PKCS11_TOKEN, NOTARY_PKCS11_PIN and NOTARY_PKCS11_CERT go with NOTARY_PKCS11_MODULE")
            return load_pkcs11_signer(Pkcs11Config(s.pkcs11_module, s.pkcs11_token, s.pkcs11_pin.get_secret_value(),
                                                   s.pkcs11_key_label, s.pkcs11_cert))
        return self.file_key_store.open(self.passphrase)

    @property
    def file_key_store(self) -> FileKeyStore:
        """The office key in files: PEM when NOTARY_SIGNING_KEY_PEM is set, else the PKCS#12
        file of the data directory."""
        s = self.settings
        if s.signing_key_pem is not None:
            return FileKeyStore(pem_key=s.signing_key_pem, pem_certificate=s.signing_cert_pem)
        return FileKeyStore(pkcs12=self.pki_dir / "office-signing.p12")

    @cached_property
    def trust_roots(self):
        return load_certificates(self.pki_dir / "notarial-root-ca.pem")

    @cached_property
    def dev_tsa(self) -> DummyTimeStamper:
        return development_tsa(ensure_tsa(self.pki_dir, self.passphrase), self.passphrase)

    def issuer_context(self, *, pool: bool = False) -> IssuerContext:
        """``pool``: render and sign in worker processes (the server's and bulk issuing's
        choice; a single CLI issue is faster without starting them)."""
        s = self.settings
        stamper = None
        if s.signature_level != SignatureLevel.B_B:
            stamper = timestamper(s.tsa_url, None if s.tsa_url else self.dev_tsa, s.chain_timeout_seconds)
        return IssuerContext(self.engine, self.office, self.signer, s.public_base_url, self.qr_key, s.cjk_font,
                             stamper, pool=self.signing_pool if pool else None, level=s.signature_level,
                             long_term=self.long_term_material, key_guard=self.key_guard)

    @cached_property
    def key_guard(self) -> SigningKeyGuard:
        """The office key as it is now, checked every few seconds: a key store rotated by
        another process is reloaded (and the signing processes restarted); a key outside
        its window, on the office CA's CRL, or unknown or retired on the ledger signs nothing."""
        def load() -> OfficeSigner:
            self.__dict__.pop("signer", None)
            return self.signer

        def on_change(_signer: OfficeSigner) -> None:
            if (pool := self.__dict__.get("signing_pool")) is not None:  # never start one here
                pool.reload()

        return SigningKeyGuard(load, self._key_store_version, self._key_problem, on_change,
                               interval=self.settings.key_check_seconds)

    def _key_store_version(self) -> tuple:
        """File times of the key store: cheap to read, changed by a rotation."""
        s = self.settings
        if s.pkcs11_module is not None:
            return ("pkcs11",)  # the token's key is not rotated by a file
        paths = [s.signing_key_pem, s.signing_cert_pem] if s.signing_key_pem else [self.pki_dir / "office-signing.p12"]
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p is not None and p.exists())

    def _key_problem(self, signer: OfficeSigner) -> tuple[str, str] | None:
        if (why := certificate_window_problem(signer)) is not None:
            return why
        if signer.certificate.serial_number in revoked_serials(self.pki_dir):
            return "签章证书已被发证机构吊销", "its certificate is revoked (office CA's CRL)"
        if self.registry is None:
            return None
        try:
            key = self.registry.get_signing_key(signer.fingerprint)
        except AnchoringError as exc:
            log.warning("ledger unreachable while checking the signing key: %s", exc.message)
            return None
        if key is None:
            return "签章证书未在公证链上登记", "it is not registered on the ledger"
        if key.revoked_at and key.revoked_at <= time.time():
            return "签章证书已在公证链上注销", "it is retired on the ledger"
        return None

    def long_term_material(self) -> LongTermMaterial:
        """For B-LT / B-LTA: the notarial root and the office CA's current CRL."""
        return LongTermMaterial(trust_roots=[c.dump() for c in self.trust_roots], crls=self.crls())

    @cached_property
    def signing_pool(self) -> SigningPool | None:
        """Worker processes that render and sign; None when the key lives in a PKCS#11 token
        (one logged-in session, shared by threads in this process)."""
        s = self.settings
        if s.pkcs11_module is not None:
            return None
        setup = SigningSetup(
            key_store=self.file_key_store, passphrase=self.passphrase, office_name=self.office.name,
            font_path=s.cjk_font, level=s.signature_level, tsa_url=s.tsa_url,
            dev_tsa_store=None if s.tsa_url else ensure_tsa(self.pki_dir, self.passphrase),
            timeout=s.chain_timeout_seconds)
        return SigningPool(setup, s.signing_processes or None)

    @cached_property
    def parser_pool(self) -> ParserPool:
        s = self.settings
        return ParserPool(size=s.parser_processes, timeout=s.parse_timeout_seconds)

    @cached_property
    def report_signer(self) -> OfficeSigner | None:
        """The verification service's report key (made on first use, unless read-only)."""
        if self.read_only:
            path = self.pki_dir / SERVICE_P12
            return load_pkcs12_signer(path, self.passphrase) if path.exists() else None
        return load_pkcs12_signer(ensure_service_signer(self.pki_dir, self.passphrase), self.passphrase)

    @cached_property
    def analysis_cache(self) -> MicroCache:
        # Same bytes, same analysis; entries expire so trust decisions are retaken now and then.
        return MicroCache(ttl_seconds=600, maxsize=4096)

    def console_context(self, issuing: IssuerContext, verifying: VerifierContext) -> ConsoleContext:
        """The staff console's wiring: TOTP secrets sealed under a key derived from the
        installation's QR secret, the session timeouts, and the ledger for inspection draws
        (the registry administrator's account, when this deployment holds it)."""
        s = self.settings
        ledger = None
        if self.registry is not None and self.accounts is not None:
            registry, admin = self.registry, self.accounts.admin

            def ledger() -> tuple[RegistryClient, Any, bool]:
                return registry, admin, self.node is not None or registry.chain_id() in DEV_CHAIN_IDS
        return ConsoleContext(
            issuing, verifying, totp.sealing_key(self.qr_key),
            staff_sessions.Timeouts(dt.timedelta(minutes=s.console_idle_minutes),
                                    dt.timedelta(hours=s.console_session_hours)),
            secure_cookies=s.console_secure_cookies, trusted_proxies=parse_networks(s.trusted_proxies),
            # Shared by every API process when Redis is configured, as the verify pages' are.
            signin_failures=make_limiters(s.redis_url, s.redis_prefix + "console:client:", max_failures=20)[1],
            unknown_names=make_limiters(s.redis_url, s.redis_prefix + "console:name:", max_failures=5)[1],
            ledger=ledger, rotate_key=lambda actor: rotate_office_key(self, actor))

    @cached_property
    def feed_config(self) -> FeedConfig:
        """The feed's keys (receivers' secrets, download links) and limits."""
        s = self.settings
        links = LinkMaker(link_key(self.qr_key), s.public_base_url, dt.timedelta(hours=s.feed_link_hours))
        return FeedConfig(receivers.sealing_key(self.qr_key), links, timeout_seconds=s.feed_timeout_seconds,
                          dead_after=dt.timedelta(hours=s.feed_dead_after_hours),
                          allow_insecure=s.feed_allow_insecure_receivers)

    def feed_worker(self) -> FeedWorker:
        """A feed delivery worker (closed by the caller)."""
        return FeedWorker(self.engine, self.feed_config)

    def start_feed_thread(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        worker = self.feed_worker()

        def run() -> None:
            try:
                worker.run_forever(stop)
            finally:
                worker.close()

        thread = threading.Thread(target=run, name="feed-worker", daemon=True)
        thread.start()
        return thread, stop

    @property
    def totp_sealing_key(self) -> bytes:
        """The key that seals staff TOTP secrets (console.totp), for the CLI's account commands."""
        return totp.sealing_key(self.qr_key)

    def preservation_context(self, issuing: IssuerContext) -> PreservationContext:
        """Evidence preservation's wiring: ``issuing`` numbers, timestamps, signs and anchors
        its certificates; files are sealed under a key derived from the installation's QR
        secret (as staff TOTP secrets are), with the size limit, retention and duty notary
        of the settings."""
        s = self.settings
        return make_context(issuing, self.qr_key, max_bytes=s.preservation_max_bytes,
                            retention_days=s.preservation_retention_days, duty_notary=s.preservation_notary)

    def verifier_context(self, *, sandboxed: bool = False) -> VerifierContext:
        """``sandboxed``: parse in killable worker processes, with a cache (the server's
        choice for files from anyone); otherwise in this process (the CLI's own files)."""
        s = self.settings
        return VerifierContext(
            self.engine, self.trust_roots, self.registry, s.confirmations, s.max_upload_bytes,
            sandbox=self.parser_pool if sandboxed else None, cache=self.analysis_cache if sandboxed else None,
            font_path=s.cjk_font, report_signer=self.report_signer, crls=self.crls,
            mirror=self.mirror if s.mirror_lookups else None,
        )

    @cached_property
    def mirror(self) -> LedgerMirror | None:
        """The ledger as mirrored into the database, for lookups; None without a chain. A
        process with no follower running keeps it current itself (LedgerMirror.refresh)."""
        if self.registry is None:
            return None
        s = self.settings
        return LedgerMirror(self.engine, self.registry.address, max_lag_blocks=s.mirror_max_lag_blocks,
                            max_age_seconds=s.mirror_max_age_seconds, refresh=lambda: self.follower().step())

    @property
    def crl_url(self) -> str:
        return f"{self.settings.public_base_url}/pki/office-ca.crl"

    def crls(self) -> list[bytes]:
        """The office CA's current CRL, then the notarial root's (each re-signed when it ages)."""
        return [ensure_crl(self.pki_dir, self.passphrase), ensure_root_crl(self.pki_dir, self.passphrase)]

    def trust_bundle(self) -> TrustBundle:
        """What verifiers pin: this ledger (chain id, registry, a checkpoint block in its
        history) and the notarial root. The checkpoint is the registry's deployment block,
        or, for a registry deployed elsewhere, the first block this service saw (kept)."""
        if self.registry is None:
            raise ContractNotDeployed("the chain is not configured")
        chain_id = self.registry.chain_id()
        chain_dir = self.settings.data_path / "chain"
        number = None
        for record in (chain_dir / f"deployment-{chain_id}.json", chain_dir / f"checkpoint-{chain_id}.json"):
            if record.exists():
                facts = json.loads(record.read_text())
                if facts.get("contract", "").lower() == self.registry.address.lower():
                    number = facts["block"]
                    break
        if number is None:
            number = self.registry.block_number()
            (chain_dir / f"checkpoint-{chain_id}.json").write_text(
                json.dumps({"chain_id": chain_id, "contract": self.registry.address, "block": number}))
        block_hash = self.registry.block_hash(number)
        if block_hash is None:  # e.g. the node was reset, or prunes old blocks
            raise ChainUnavailable(f"the chain node has no block {number}, the trust bundle's checkpoint")
        return TrustBundle(chain_id=chain_id, registry=self.registry.address,
                           checkpoint=Checkpoint(number=number, hash=block_hash.lower()),
                           notarial_root_pem=(self.pki_dir / "notarial-root-ca.pem").read_text())

    def worker(self) -> AnchorWorker:
        if self.registry is None or self.accounts is None:
            raise ContractNotDeployed("the chain is not configured")
        s = self.settings
        config = WorkerConfig(office_code=self.office.code, batch_size=s.batch_size,
                              batch_age_seconds=s.batch_age_seconds, confirmations=s.confirmations)
        # The audit log's head rides on every batch: the ledger then dates the whole log.
        return AnchorWorker(self.engine, self.registry, self.accounts.anchor, config,
                            commitment=lambda s: bytes.fromhex(audit.head(s)),
                            saved_since=self.node.saved_since if self.node is not None else None,
                            on_ledger_change=lambda: self.follower().catch_up(max_steps=20))

    def follower(self) -> Follower:
        """The ledger mirror's follower for this registry (one per runtime), reading from its
        deployment block on (recorded when this service deployed it; else the genesis block)."""
        if self.registry is None:
            raise ContractNotDeployed("the chain is not configured")
        if (made := self.__dict__.get("_follower")) is not None:
            return made
        record = self.settings.data_path / "chain" / f"deployment-{self.registry.chain_id()}.json"
        start = 0
        if record.exists():
            deployed = json.loads(record.read_text())
            if deployed.get("contract", "").lower() == self.registry.address.lower():
                start = int(deployed.get("block", 0))
        made = self.__dict__["_follower"] = Follower(self.engine, self.registry, from_block=start,
                                                     moved=self._mirror_moved)
        return made

    def _mirror_moved(self) -> None:
        if (mirror := self.__dict__.get("mirror")) is not None:
            mirror.forget()

    def start_follower_thread(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.follower().run_forever, args=(stop,), name="ledger-follower",
                                  daemon=True)
        thread.start()
        return thread, stop

    def start_worker_thread(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.worker().run_forever, args=(stop,), name="anchor-worker", daemon=True)
        thread.start()
        return thread, stop

    def close(self) -> None:
        if "parser_pool" in self.__dict__:
            self.parser_pool.close()
        if (pool := self.__dict__.get("signing_pool")) is not None:
            pool.close()
        if self.node is not None:
            self.node.stop()
        self.engine.dispose()


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if missing (SQLite then keeps that mode, and
    gives its -wal and -shm files the same), else make it 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    path.chmod(0o600)


class NoInstallation(Exception):
    """There is no service here to open (asked not to create one): no keys, no database."""


def installed(settings: Settings) -> bool:
    """Whether ``settings.data_dir`` holds a service: its notarial root and its database."""
    data = settings.data_path
    has_database = settings.database_url is not None or (data / "notary.sqlite3").exists()
    return (data / "pki" / "notarial-root-ca.pem").exists() and has_database


def open_runtime(settings: Settings | None = None, *, chain: bool = True, create: bool = True) -> Runtime:
    """Open (and on first run, unless ``create`` is false, create) everything for
    ``settings.data_dir``. With ``create=False`` a missing service raises NoInstallation:
    commands that only read (verifying) must never make keys of their own."""
    settings = settings or Settings()
    if not create:
        return _open_read_only(settings, chain)
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    # Personal data and keys live here: owner only, whatever the umask.
    data.chmod(0o700)
    if settings.database_url is None:
        _private_file(data / "notary.sqlite3")
    passphrase = installation_secrets.key_passphrase(settings)
    office = Office(settings.office_name, settings.office_code, settings.office_abbrev)
    ensure_dev_pki(data / "pki", OfficeIdentity(office.name, office.code), passphrase,
                   crl_url=f"{settings.public_base_url}/pki/office-ca.crl")
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    rt = Runtime(settings, engine, office, passphrase, installation_secrets.qr_key(settings))
    if chain:
        try:
            _open_chain(rt)
        except BaseException:
            rt.close()
            raise
    return rt


def _open_read_only(settings: Settings, chain: bool) -> Runtime:
    """An existing service opened for reading (verifying): no secret, key, account or
    contract is made, no office registered; whatever is missing is NoInstallation."""
    if not installed(settings):
        raise NoInstallation(f"no notary service in {settings.data_path}")
    try:
        passphrase = installation_secrets.key_passphrase(settings, create=False)
        qr = installation_secrets.qr_key(settings, create=False)
    except installation_secrets.SecretMissing as exc:
        raise NoInstallation(f"the service in {settings.data_path} lacks {exc} (set NOTARY_KEY_PASSPHRASE?)") from None
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)  # what every process does; it creates no keys
    office = Office(settings.office_name, settings.office_code, settings.office_abbrev)
    rt = Runtime(settings, engine, office, passphrase, qr, read_only=True)
    if not chain:
        return rt
    try:
        chain_dir = settings.data_path / "chain"
        if settings.rpc_url is None:
            if not (chain_dir / "anvil-state.json").exists() and not (chain_dir / "node.json").exists():
                raise NoInstallation(f"the service in {settings.data_path} has no chain state")
            rt.node = EmbeddedNode(chain_dir)
            rpc_url = rt.node.ensure()
        else:
            rpc_url = settings.rpc_url
        w3 = connect(rpc_url, timeout=settings.chain_timeout_seconds)
        registry = _known_registry(settings, w3, chain_dir)
        if registry is None:
            raise NoInstallation(f"the service in {settings.data_path} knows no registry on this chain")
        rt.registry = registry
    except BaseException:
        rt.close()
        raise
    return rt


def _open_chain(rt: Runtime) -> None:
    s = rt.settings
    chain_dir = s.data_path / "chain"
    chain_dir.mkdir(parents=True, exist_ok=True)
    embedded = s.rpc_url is None
    if s.rpc_url is None:
        rt.node = EmbeddedNode(chain_dir)
        rpc_url = rt.node.ensure()
    else:
        rpc_url = s.rpc_url
    w3 = connect(rpc_url, timeout=s.chain_timeout_seconds)
    if s.admin_private_key and s.anchor_private_key:
        accounts = ChainAccounts(
            account_from_key(s.admin_private_key.get_secret_value()),
            account_from_key(s.anchor_private_key.get_secret_value()),
        )
    else:
        accounts = load_or_create_accounts(chain_dir, rt.passphrase)
    rt.accounts = accounts
    if embedded or w3.eth.chain_id in DEV_CHAIN_IDS:
        # Development chains hand out gas money; a real network needs funded accounts.
        fund_on_dev_node(w3, accounts.admin.address, accounts.anchor.address)
    # Several processes may open one data directory at once (API and worker): one deploys.
    with open(chain_dir / "deploy.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rt.registry = _deployment(rt, w3, chain_dir)
        _register_office(rt)


def _deployment(rt: Runtime, w3, chain_dir: Path) -> RegistryClient:
    """The registry on this chain: from settings, from the data directory, or deployed now."""
    registry = _known_registry(rt.settings, w3, chain_dir)
    if registry is not None:
        return registry
    chain_id = w3.eth.chain_id
    assert rt.accounts is not None  # _open_chain sets them first
    address, block = RegistryClient.deploy(w3, rt.accounts.admin)
    (chain_dir / f"deployment-{chain_id}.json").write_text(
        json.dumps({"chain_id": chain_id, "contract": address, "block": block}))
    log.info("deployed the registry contract at %s (chain %d, block %d)", address, chain_id, block)
    return RegistryClient(w3, address)


def _known_registry(settings: Settings, w3, chain_dir: Path) -> RegistryClient | None:
    """The registry this service knows on this chain (from settings, else the data
    directory's record), checked to be there and of this version; None when it knows none."""
    chain_id = w3.eth.chain_id
    record = chain_dir / f"deployment-{chain_id}.json"
    address = settings.contract_address
    if address is None and record.exists():
        address = json.loads(record.read_text())["contract"]
    if address is not None:
        registry = RegistryClient(w3, address)
        if not registry.has_code():
            raise ContractNotDeployed(
                f"no registry contract at {address} on chain {chain_id}: the chain state was reset or "
                f"the address is wrong (remove {record.name} to deploy a new registry on a development chain)"
            )
        if not registry.runs_this_version():
            # e.g. a data directory from before anchors were scoped by office: its registry
            # answers in another shape, and mixing the two would misread the ledger.
            raise ContractNotDeployed(
                f"the registry at {address} on chain {chain_id} is another version of the contract than this "
                f"service's; on a development chain remove {record.name} to deploy this version (certificates "
                f"anchored on the old one stay on it), on a shared network ask the registry administrator"
            )
        return registry
    return None


def rotate_office_key(rt: Runtime, actor: str = "operator:unknown") -> tuple[bytes, bytes]:
    """New office signing key; the new fingerprint is registered on the ledger and the old
    one retired from now on (signatures made before keep verifying). Audited as ``actor``.
    Returns (old, new) fingerprints."""
    old = rt.signer.fingerprint
    rotate_signing_key(rt.pki_dir, OfficeIdentity(rt.office.name, rt.office.code), rt.passphrase, rt.crl_url)
    rt.__dict__.pop("signer", None)  # reload the new store
    if "key_guard" in rt.__dict__:
        rt.key_guard.check_now()  # this process signs with the new key from its next certificate
    if (pool := rt.__dict__.get("signing_pool")) is not None:
        # Its processes hold the old key: new ones read the new store. The pool itself stays,
        # as the server's issuing context holds it (closing it broke every later issue).
        pool.reload()
    new = rt.signer.fingerprint
    if rt.registry is not None:
        assert rt.accounts is not None  # opened for writing (keys are made): _open_chain set both
        _register_office(rt)
        if _is_admin(rt.registry, rt.accounts.admin.address):
            key = rt.registry.get_signing_key(old)
            if key is not None and key.revoked_at == 0:
                rt.registry.transact(rt.accounts.admin, "revokeSigningKey", old, int(time.time()))
    _audit_key_event(rt, actor, "key.rotate", new, {"retired": old.hex(), "registered": new.hex()},
                     feed=(EventKind.KEY_ROTATED, {"retired_fingerprint": old.hex(), "new_fingerprint": new.hex(),
                                                   "certificate_der_base64": base64.b64encode(rt.signer.certificate.dump()).decode()}))
    return old, new


def revoke_office_certificate(rt: Runtime, actor: str = "operator:unknown") -> bytes:
    """Compromise: put the office's current signing certificate on the CA's CRL and retire
    its fingerprint on the ledger now. Audited as ``actor``. Returns the fingerprint."""
    fingerprint = rt.signer.fingerprint
    revoke_serial(rt.pki_dir, rt.passphrase, rt.signer.certificate.serial_number)
    if "key_guard" in rt.__dict__:
        rt.key_guard.check_now()
    if rt.registry is not None:
        assert rt.accounts is not None  # opened for writing (a CRL is signed): _open_chain set both
        if _is_admin(rt.registry, rt.accounts.admin.address):
            key = rt.registry.get_signing_key(fingerprint)
            if key is not None and key.revoked_at == 0:
                rt.registry.transact(rt.accounts.admin, "revokeSigningKey", fingerprint, int(time.time()))
    _audit_key_event(rt, actor, "key.revoke_cert", fingerprint,
                     {"serial": format(rt.signer.certificate.serial_number, "x")})
    return fingerprint


def _audit_key_event(rt: Runtime, actor: str, action: str, fingerprint: bytes, details: dict,
                     feed: tuple[EventKind, dict] | None = None) -> None:
    """The audit event, and the feed's event when one is given, in one transaction."""
    with write_session(rt.engine) as s:
        audit.append(s, actor, action, fingerprint.hex()[:64], details, office=rt.office.code)
        if feed is not None:
            feed_events.append(s, feed[0], rt.office.code, None, feed[1])
        s.commit()


def _register_office(rt: Runtime) -> None:
    """Register this office, its anchoring account and its signing certificate (idempotent).
    Needs the registry administrator's key; skipped when this deployment does not hold it."""
    assert rt.registry is not None and rt.accounts is not None  # callers have the chain opened for writing
    registry, admin, anchor = rt.registry, rt.accounts.admin, rt.accounts.anchor
    number = registry.office_by_code(rt.office.code)
    if number == 0:
        if not _is_admin(registry, admin.address):
            log.warning("office %s is not registered on the ledger and this service is not its administrator", rt.office.code)
            return
        registry.transact(admin, "registerOffice", rt.office.code, rt.office.name, [anchor.address])
        number = registry.office_by_code(rt.office.code)
    fingerprint = rt.signer.fingerprint
    if registry.get_signing_key(fingerprint) is None and _is_admin(registry, admin.address):
        cert = rt.signer.certificate
        validity = cert["tbs_certificate"]["validity"]
        not_before = int(validity["not_before"].native.timestamp())
        not_after = int(validity["not_after"].native.timestamp())
        registry.transact(admin, "registerSigningKey", number, fingerprint, not_before, not_after)


def _is_admin(registry: RegistryClient, address: str) -> bool:
    return registry.contract.functions.admin().call() == address
