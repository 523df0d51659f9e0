"""RFC 3161 timestamps for PAdES B-T: the office's TSA over HTTP when configured, else the
project's development TSA (in this process, or served over HTTP at ``POST /tsa``)."""

from __future__ import annotations

from pathlib import Path

from asn1crypto import tsp
from pyhanko.sign import signers
from pyhanko.sign.timestamps import DummyTimeStamper, TimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper


def development_tsa(p12: Path, passphrase: bytes) -> DummyTimeStamper:
    """The development TSA: pyHanko's own TSA logic with a key issued by the dev root."""
    loaded = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=passphrase)
    return DummyTimeStamper(tsa_cert=loaded.signing_cert, tsa_key=loaded.signing_key)


def timestamper(tsa_url: str | None, dev_tsa: DummyTimeStamper | None, timeout: float = 10.0) -> TimeStamper | None:
    if tsa_url:
        return RequestsHTTPTimeStamper(tsa_url, timeout=timeout)
    return dev_tsa


def answer_request(tsa: DummyTimeStamper, request_der: bytes) -> bytes:
    """Serve one RFC 3161 request (DER in, DER out), for the development TSA endpoint."""
    return tsa.request_tsa_response(tsp.TimeStampReq.load(request_der)).dump()
