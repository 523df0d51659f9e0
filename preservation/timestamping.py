"""The trusted time of a receipt: an RFC 3161 timestamp over the evidence's SHA-256 from the
office's time-stamping authority (the same one that timestamps its signatures)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from asn1crypto import cms, tsp
from pyhanko.sign.timestamps import TimeStamper

from verifier.cades import run_sync

from .errors import TimestampUnavailable


@dataclass(frozen=True)
class Timestamp:
    token: bytes = field(repr=False)  # the TimeStampToken (CMS ContentInfo), DER
    time: dt.datetime  # its genTime: the fingerprint existed no later than this


def timestamp_digest(stamper: TimeStamper | None, digest: bytes) -> Timestamp:
    """A timestamp token over ``digest`` (SHA-256, 32 bytes). TimestampUnavailable (503) when
    the office has no TSA, the TSA does not answer, or its token is not over ``digest``.

    Runs the stamper's coroutine to completion here (verifier.cades.run_sync: in a helper
    thread where a loop is already running)."""
    if stamper is None:
        raise TimestampUnavailable("this office signs without timestamps (PAdES B-B) and has no time-stamping service")
    try:
        token = run_sync(stamper.async_timestamp(digest, "sha256"))
    except OSError as exc:  # pyHanko's TimestampRequestError and requests' errors are OSErrors
        raise TimestampUnavailable(type(exc).__name__) from exc
    return Timestamp(token.dump(), _checked_time(token, digest))


def _checked_time(token: cms.ContentInfo, digest: bytes) -> dt.datetime:
    """The token's genTime, once its message imprint is seen to be over ``digest``: a TSA (or
    something between) answering for another fingerprint is not a timestamp of this one."""
    try:
        info = token["content"]["encap_content_info"]["content"].parsed
        if not isinstance(info, tsp.TSTInfo):
            raise ValueError("not a TSTInfo")
        imprint = info["message_imprint"]
        algorithm, hashed = imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native
        when = info["gen_time"].native
    except (KeyError, ValueError, TypeError) as exc:
        raise TimestampUnavailable("the time-stamping authority answered with an unreadable token") from exc
    if algorithm != "sha256" or hashed != digest:
        raise TimestampUnavailable("the time-stamping authority's token is over another fingerprint")
    return when.astimezone(dt.timezone.utc)
