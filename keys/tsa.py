"""RFC 3161 timestamps for PAdES B-T: the office's TSA over HTTP when configured, else the
project's development TSA (in this process, or served over HTTP at ``POST /tsa``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign import general, signers
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper, TimeStamper
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash


def _parsed(value):
    """The same value, parsed back from its DER: asn1crypto re-encodes a structure it built
    on every dump (it never forgets it was built), a parsed one dumps from cache."""
    return type(value).load(value.dump())


class DevelopmentTSA(DummyTimeStamper):
    """pyHanko's in-process TSA (``DummyTimeStamper``), with what is the same in every token
    prepared once: the RSA key parsed, the signed attributes that never change, the signer
    identifier and the certificates. pyHanko's test TSA rebuilds all of it per token, which
    made the timestamp most of a B-T signature's cost here."""

    def __init__(self, tsa_cert, tsa_key, **kwargs):
        super().__init__(tsa_cert=tsa_cert, tsa_key=tsa_key, **kwargs)
        key = serialization.load_der_private_key(tsa_key.dump(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):  # the development TSA signs RSA PKCS#1 v1.5 (ensure_tsa)
            raise TypeError(f"the development TSA's key must be RSA, not {type(key).__name__}")
        self._private_key = key
        self._content_type = _parsed(simple_cms_attribute("content_type", "tst_info"))
        self._signing_certificate = _parsed(simple_cms_attribute(
            "signing_certificate", general.as_signing_certificate(tsa_cert)))
        self._sid = _parsed(cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": tsa_cert.issuer, "serial_number": tsa_cert.serial_number})}))
        self._certificates = _parsed(cms.CertificateSet(
            [cms.CertificateChoices(name="certificate", value=c) for c in {*self.certs_to_embed, tsa_cert}]))

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, when: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = _parsed(cms.CMSAttributes([
            self._content_type,
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(when)})),
            self._signing_certificate,
            simple_cms_attribute("message_digest", digest.finalize()),
        ]))
        signature = self._private_key.sign(signed_attrs.dump(), PKCS1v15(),
                                           get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs

    def _build_signed_data(self, tst_info_data: bytes, md_algorithm: str, signature: bytes,
                           signed_attrs: cms.CMSAttributes) -> dict:
        digest_algorithm = algos.DigestAlgorithm({"algorithm": md_algorithm})
        signer_info = cms.SignerInfo({
            "version": "v1", "sid": self._sid, "digest_algorithm": digest_algorithm,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
            "signed_attrs": signed_attrs, "signature": signature,
        })
        return {
            "version": "v3",
            "digest_algorithms": cms.DigestAlgorithms((digest_algorithm,)),
            "encap_content_info": cms.EncapsulatedContentInfo(
                {"content_type": cms.ContentType("tst_info"), "content": cms.ParsableOctetString(tst_info_data)}),
            "certificates": self._certificates,
            "signer_infos": [signer_info],
        }

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # Parsed, as from a TSA over HTTP: pyHanko dumps the token several times while
        # embedding it.
        return _parsed(super().request_tsa_response(req))


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
