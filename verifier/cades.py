"""Checking a detached CAdES signature (CMS SignedData, ETSI EN 319 122-1) over bytes
held apart from it: the ASiC-E manifest's signature, and an RFC 3161 timestamp token over a
digest. Nothing is fetched: trust is the roots given, revocation is soft-fail (offline)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms, validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

log = logging.getLogger("notary.verifier")
T = TypeVar("T")
MAX_CMS_BYTES = 256 * 1024
# What a malformed CMS structure raises somewhere inside asn1crypto or pyHanko.
_UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


@dataclass(frozen=True)
class SignatureFacts:
    """What a detached signature says. ``problem`` names why it could not be read at all."""

    intact: bool = False  # the signature matches the content
    trusted: bool = False  # its certificate chains to a given root
    revoked: bool = False
    signer_cert: asn1_x509.Certificate | None = None
    signing_time: dt.datetime | None = None  # the signer's claim (CAdES signing-time)
    problem: str | None = None


@dataclass(frozen=True)
class TimestampFacts:
    """An RFC 3161 token's facts: signature intact and trusted, and what it stamps."""

    intact: bool = False  # the TSA's signature holds and the imprint is the expected one
    trusted: bool = False
    gen_time: dt.datetime | None = None
    imprint: bytes | None = None
    imprint_algorithm: str | None = None
    problem: str | None = None


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run pyHanko's async validation from synchronous code, also when called inside a
    running event loop (then in a thread of its own: asyncio.run cannot nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _context(roots: list[asn1_x509.Certificate]) -> ValidationContext:
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")


def verify_detached(content: bytes, signature: bytes, roots: list[asn1_x509.Certificate]) -> SignatureFacts:
    """Check a detached CAdES signature (DER ContentInfo) over ``content``: one signer, the
    signing-certificate-v2 attribute present (CAdES binds the certificate), no content
    inside (what is signed is exactly the bytes given)."""
    if len(signature) > MAX_CMS_BYTES:
        return SignatureFacts(problem=f"the signature is larger than {MAX_CMS_BYTES} bytes")
    try:
        info = cms.ContentInfo.load(signature, strict=True)
        if info["content_type"].native != "signed_data":
            return SignatureFacts(problem="not a CMS SignedData")
        signed_data = info["content"]
        if signed_data["encap_content_info"]["content"].native is not None:
            return SignatureFacts(problem="the signature is not detached")
        if len(signed_data["signer_infos"]) != 1:
            return SignatureFacts(problem="not exactly one signer")
        attrs = {a["type"].native for a in signed_data["signer_infos"][0]["signed_attrs"]}
        if "signing_certificate_v2" not in attrs:
            return SignatureFacts(problem="no signing-certificate-v2 attribute (not CAdES)")
        status = run_sync(async_validate_detached_cms(content, signed_data, signer_validation_context=_context(roots)))
    except _UNREADABLE as exc:
        log.info("unreadable CAdES signature: %s", exc)
        return SignatureFacts(problem="the signature cannot be read")
    except Exception as exc:  # noqa: BLE001 - pyHanko's validation errors for crafted input
        log.info("CAdES validation failed: %s", exc)
        return SignatureFacts(problem="the signature cannot be validated")
    return SignatureFacts(intact=bool(status.intact and status.valid), trusted=bool(status.trusted),
                          revoked=bool(status.revoked), signer_cert=status.signing_cert,
                          signing_time=status.signer_reported_dt)


def timestamp_token(data: bytes) -> cms.SignedData:
    """The SignedData of an RFC 3161 TimeStampToken, given as the token (a ContentInfo) or
    as a whole TimeStampResp. Raises ValueError when it is neither."""
    if len(data) > MAX_CMS_BYTES:
        raise ValueError("the timestamp is too large")
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native == "signed_data":
            return info["content"]
    except _UNREADABLE:
        pass
    try:
        response = tsp.TimeStampResp.load(data, strict=True)
        return response["time_stamp_token"]["content"]
    except _UNREADABLE as exc:
        raise ValueError("neither a TimeStampToken nor a TimeStampResp") from exc


def verify_timestamp(token: bytes, digest: bytes, roots: list[asn1_x509.Certificate]) -> TimestampFacts:
    """Check an RFC 3161 token over ``digest`` (SHA-256): the TSA's signature, its trust,
    and that its message imprint is that digest."""
    try:
        signed_data = timestamp_token(token)
        tst_info = signed_data["encap_content_info"]["content"].parsed
        imprint = tst_info["message_imprint"]
        algorithm, stamped = imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native
        gen_time = tst_info["gen_time"].native
        kwargs = run_sync(validate_tst_signed_data(signed_data, _context(roots), lambda _algorithm: digest))
        status = TimestampSignatureStatus(**kwargs)
    except _UNREADABLE as exc:
        log.info("unreadable timestamp token: %s", exc)
        return TimestampFacts(problem="the timestamp cannot be read")
    except Exception as exc:  # noqa: BLE001 - pyHanko's validation errors for crafted input
        log.info("timestamp validation failed: %s", exc)
        return TimestampFacts(problem="the timestamp cannot be validated")
    return TimestampFacts(intact=bool(status.intact and status.valid), trusted=bool(status.trusted),
                          gen_time=gen_time, imprint=stamped, imprint_algorithm=algorithm)
