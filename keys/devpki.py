"""Development PKI: a notarial root CA, an issuing CA per office and the office's signing
certificate. Generated on first run into the data directory, private keys encrypted with
the key passphrase; never committed.

Production offices replace this with certificates from the notarial authority's CA and a
key in an HSM; the layout on disk (trust roots as PEM, signer as PKCS#12) stays the same.

Several processes may start at once on a new data directory (API, worker, CLI): files are
created under an exclusive lock on their directory (``creation_lock``), checked for again
once the lock is held, and each is written whole or not at all (``write_atomic``), so
there is one PKI and nobody reads a half-written file.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

# RFC 9336 id-kp-documentSigning: the extended key usage for signing documents.
DOCUMENT_SIGNING_EKU = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

ROOT_CERT = "notarial-root-ca.pem"
ROOT_KEY = "notarial-root-ca.key.pem"
OFFICE_CA_CERT = "office-ca.pem"
OFFICE_CA_KEY = "office-ca.key.pem"
SIGNER_P12 = "office-signing.p12"
LOCK_FILE = ".lock"  # in the directory whose files it guards


@dataclass(frozen=True)
class OfficeIdentity:
    """Who the office is, as written into its certificates."""

    name: str  # e.g. 上海市东方公证处
    code: str  # ASCII office code, e.g. SH-DONGFANG


@dataclass(frozen=True)
class DevPkiPaths:
    directory: Path

    @property
    def root_cert(self) -> Path:
        return self.directory / ROOT_CERT

    @property
    def office_ca_cert(self) -> Path:
        return self.directory / OFFICE_CA_CERT

    @property
    def signer_p12(self) -> Path:
        return self.directory / SIGNER_P12


def _name(cn: str, org: str, unit: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int, now: dt.datetime):
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Backdated a little so that clocks a few minutes apart still accept it.
        .not_valid_before(now - dt.timedelta(minutes=10))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )


@contextmanager
def creation_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (``fcntl.flock`` on its lock file) while
    creating files in it for the first time: other processes, and other threads of this
    one, wait. Check again for the files once it is held. Not re-entrant."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``path`` whole or not at all: into a temporary file in the same directory,
    created with ``mode`` from the start (0600: private material is never readable by
    others, even briefly), flushed to disk, then renamed over ``path``. Readers see no
    file, or the old one, or the complete new one; never an empty or partial one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode != 0o600:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)  # the rename itself survives a crash


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    write_atomic(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    write_atomic(path, data, 0o644)


def make_ca(
    cn: str, org: str, *, issuer_cert: x509.Certificate | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None, path_length: int | None = None,
    days: int = 3650, now: dt.datetime | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA certificate: self-signed when no issuer is given, else issued by it."""
    now = now or dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(cn, org)
    issuer_name = issuer_cert.subject if issuer_cert is not None else subject
    signing_key = issuer_key if issuer_key is not None else key
    builder = (
        _builder(subject, issuer_name, key.public_key(), days, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_usage(), critical=True)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]  # EC or RSA only
            critical=False
        )
    return builder.sign(signing_key, hashes.SHA256()), key


def _end_entity(subject: x509.Name, issuer_cert: x509.Certificate, issuer_key, key, ekus: list,
                *, eku_critical: bool = False, days: int = 825, crl_url: str | None = None) -> x509.Certificate:
    """A non-CA certificate for signing (digital signature + non-repudiation); with
    ``crl_url``, validators are told where its issuer publishes revocations: the CRL there,
    and the OCSP responder beside it (``…/ocsp``, the development CA serves both)."""
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        _builder(subject, issuer_cert.subject, key.public_key(), days, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(ekus), critical=eku_critical)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]  # EC or RSA only
            critical=False
        )
    )
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None, crl_issuer=None,
        )]), critical=False)
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url_beside(crl_url)))]),
            critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def ocsp_url_beside(crl_url: str) -> str:
    return crl_url.rsplit("/", 1)[0] + "/ocsp"


def make_signing_cert(
    office: OfficeIdentity, issuer_cert: x509.Certificate, issuer_key, *, days: int = 825, crl_url: str | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The office's document-signing certificate (non-repudiation, RFC 9336 EKU)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return certify_signing_key(office, key.public_key(), issuer_cert, issuer_key, days=days, crl_url=crl_url), key


def certify_signing_key(office: OfficeIdentity, public_key, issuer_cert: x509.Certificate, issuer_key, *,
                        days: int = 825, crl_url: str | None = None) -> x509.Certificate:
    """A signing certificate for a key held elsewhere (e.g. generated inside an HSM)."""
    return _end_entity(_name(office.name, office.name, office.code), issuer_cert, issuer_key, _PublicOnly(public_key),
                       [DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION], days=days, crl_url=crl_url)


@dataclass(frozen=True)
class _PublicOnly:
    """Lets `_end_entity` take a bare public key where it expects a key pair."""

    key: object

    def public_key(self):
        return self.key


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def encrypted_pem(key, passphrase: bytes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def signer_pkcs12(name: str, key, cert, chain: list[x509.Certificate], passphrase: bytes) -> bytes:
    """PKCS#12 with AES-256 encryption (the legacy RC2/3DES defaults are refused by newer tools)."""
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase)
    )
    return pkcs12.serialize_key_and_certificates(name.encode(), key, cert, chain, encryption)


SERVICE_P12 = "verification-service.p12"


def make_service_cert(issuer_cert: x509.Certificate, issuer_key, name: str, *, days: int = 825):
    """The verification service's certificate, for signing verification reports."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name, "Notarial Authority (development)", "Verification service")
    return _end_entity(subject, issuer_cert, issuer_key, key, [DOCUMENT_SIGNING_EKU], days=days), key


def ensure_service_signer(directory: Path, passphrase: bytes) -> Path:
    """The report-signing key of the verification service, issued by the development root."""
    return _ensure_root_issued(directory, passphrase, SERVICE_P12, "verification-service",
                               lambda c, k: make_service_cert(c, k, "电子公证书核验服务 Verification Service (dev)"))


TSA_P12 = "tsa.p12"


def make_tsa_cert(issuer_cert: x509.Certificate, issuer_key, name: str, *, days: int = 3650):
    """An RFC 3161 time-stamping authority certificate. RSA, because pyHanko's in-process
    TSA signs only with RSA keys; the timeStamping EKU is critical, as RFC 3161 requires."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = _name(name, "Notarial Authority (development)", "Time-stamping")
    cert = _end_entity(subject, issuer_cert, issuer_key, key, [ExtendedKeyUsageOID.TIME_STAMPING],
                       eku_critical=True, days=days)
    return cert, key


def _ensure_root_issued(directory: Path, passphrase: bytes, filename: str, friendly: str, make) -> Path:
    """A key + certificate issued by the development root, created on first use (also in
    data directories made before it existed), once even when several processes ask at once."""
    path = directory / filename
    if path.exists():  # written atomically: if it is there, it is complete
        return path
    with creation_lock(directory):
        if path.exists():  # made by another process while this one waited
            return path
        root = x509.load_pem_x509_certificate((directory / ROOT_CERT).read_bytes())
        root_key = serialization.load_pem_private_key((directory / ROOT_KEY).read_bytes(), passphrase)
        cert, key = make(root, root_key)
        _write_private(path, signer_pkcs12(friendly, key, cert, [], passphrase))
    return path


def ensure_tsa(directory: Path, passphrase: bytes) -> Path:
    return _ensure_root_issued(directory, passphrase, TSA_P12, "development-tsa",
                               lambda c, k: make_tsa_cert(c, k, "公证时间戳服务 Notarial TSA (dev)"))


def ensure_dev_pki(directory: Path, office: OfficeIdentity, passphrase: bytes, crl_url: str | None = None) -> DevPkiPaths:
    """Create the development PKI in ``directory`` unless it is already there. Idempotent,
    and safe when several processes start at once: one creates it, the others wait for it
    (``creation_lock``) and use it."""
    paths = DevPkiPaths(directory)
    if paths.signer_p12.exists() and paths.root_cert.exists():
        return paths
    with creation_lock(directory):
        if paths.signer_p12.exists() and paths.root_cert.exists():  # made while this one waited
            return paths
        _create_dev_pki(paths, office, passphrase, crl_url)
    return paths


def _create_dev_pki(paths: DevPkiPaths, office: OfficeIdentity, passphrase: bytes, crl_url: str | None) -> None:
    """Make and write the PKI (under the creation lock). Each file is written atomically;
    files of an earlier, interrupted attempt are replaced."""
    directory = paths.directory
    root, root_key = make_ca(
        "公证电子认证根CA（开发） Notarial Root CA (dev)", "Notarial Authority (development)",
        path_length=1, days=7300,
    )
    office_ca, office_ca_key = make_ca(
        f"{office.name} Issuing CA (dev)", office.name,
        issuer_cert=root, issuer_key=root_key, path_length=0, days=3650,
    )
    cert, key = make_signing_cert(office, office_ca, office_ca_key, crl_url=crl_url)
    _write_private(directory / ROOT_KEY, encrypted_pem(root_key, passphrase))
    _write_private(directory / OFFICE_CA_KEY, encrypted_pem(office_ca_key, passphrase))
    _write_public(directory / OFFICE_CA_CERT, pem(office_ca))
    _write_private(paths.signer_p12, signer_pkcs12(office.code, key, cert, [office_ca], passphrase))
    # The root certificate is written last: its presence marks a complete PKI.
    _write_public(paths.root_cert, pem(root))


def load_office_ca(directory: Path, passphrase: bytes):
    """The office's issuing CA certificate and key (to certify new signing keys)."""
    cert = x509.load_pem_x509_certificate((directory / OFFICE_CA_CERT).read_bytes())
    key = serialization.load_pem_private_key((directory / OFFICE_CA_KEY).read_bytes(), passphrase)
    return cert, key


def rotate_signing_key(directory: Path, office: OfficeIdentity, passphrase: bytes, crl_url: str | None = None) -> Path:
    """Give the office a new signing key and certificate from its issuing CA. The old key
    store is kept beside it (``office-signing-<serial>.p12``) so old signatures can still be
    traced; certificates signed with it keep verifying. Returns the archived store."""
    with creation_lock(directory):  # one rotation at a time, never during a first start
        office_ca, office_ca_key = load_office_ca(directory, passphrase)
        current = directory / SIGNER_P12
        _key, old_cert, _ = pkcs12.load_key_and_certificates(current.read_bytes(), passphrase)
        assert old_cert is not None  # every signer store holds its certificate
        archived = directory / f"office-signing-{old_cert.serial_number:x}.p12"
        cert, key = make_signing_cert(office, office_ca, office_ca_key, crl_url=crl_url)
        new_store = signer_pkcs12(office.code, key, cert, [office_ca], passphrase)
        # Archive first, then replace: at every moment one complete signer store exists.
        _write_private(archived, current.read_bytes())  # 0600 from the start, written whole
        _write_private(current, new_store)  # atomic: a temporary file renamed over the old store
    return archived
