"""RFC 3161 timestamps for PAdES B-T: the office's TSA over HTTP when configured, else the
project's development TSA (in this process, or served over HTTP at ``POST /tsa``)."""

from __future__ import annotations

from pathlib import Path

from datetime import datetime

from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko_certvalidator.util import get_pyca_cryptography_hash
from pyhanko.sign import signers
from pyhanko.sign.timestamps import DummyTimeStamper, TimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper


class DevelopmentTSA(DummyTimeStamper):
    """pyHanko's in-process TSA, with its RSA key parsed once and its ESS signing-certificate
    attribute built once: pyHanko's test TSA redoes both for every token (~30 ms, most of
    a B-T signature's cost here)."""

    def __init__(self, tsa_cert, tsa_key, **kwargs):
        super().__init__(tsa_cert=tsa_cert, tsa_key=tsa_key, **kwargs)
        self._private_key = serialization.load_der_private_key(tsa_key.dump(), password=None)
        self._signing_certificate = simple_cms_attribute(
            "signing_certificate", general.as_signing_certificate(tsa_cert))

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, when: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(when)})),
            self._signing_certificate,
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = self._private_key.sign(signed_attrs.dump(), PKCS1v15(),
                                           get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # Hand back a parsed response, as from a TSA over HTTP: asn1crypto re-encodes a
        # freshly built structure on every dump (it never forgets it was built), and pyHanko
        # dumps the token several times while embedding it; a parsed one dumps from cache.
        return tsp.TimeStampResp.load(super().request_tsa_response(req).dump())


def development_tsa(p12: Path, passphrase: bytes) -> DevelopmentTSA:
    """The development TSA: pyHanko's own TSA logic with a key issued by the dev root."""
    loaded = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=passphrase)
    return DevelopmentTSA(tsa_cert=loaded.signing_cert, tsa_key=loaded.signing_key)


def timestamper(tsa_url: str | None, dev_tsa: DummyTimeStamper | None, timeout: float = 10.0) -> TimeStamper | None:
    if tsa_url:
        return RequestsHTTPTimeStamper(tsa_url, timeout=timeout)
    return dev_tsa


def answer_request(tsa: DummyTimeStamper, request_der: bytes) -> bytes:
    """Serve one RFC 3161 request (DER in, DER out), for the development TSA endpoint."""
    return tsa.request_tsa_response(tsp.TimeStampReq.load(request_der)).dump()
