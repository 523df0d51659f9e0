"""A pyHanko signer for keys held in memory that parses its private key once.

pyHanko's :class:`~pyhanko.sign.signers.SimpleSigner` keeps the key as an asn1crypto
structure and loads it into ``cryptography`` on every signature; for an RSA key that load
runs the key consistency check, which cost ~29 ms a signature here (more than the rest of
the CMS building). This subclass loads it once and otherwise behaves the same.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from asn1crypto import cms
from pyhanko.sign import signers
from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params


class _FixedAttribute(CMSAttributeProvider):
    """An attribute whose value never changes, handed over as parsed DER."""

    def __init__(self, attribute: cms.CMSAttribute):
        self.attribute = attribute
        self.attribute_type = attribute["type"].native

    async def get_attribute(self, dry_run=False) -> cms.CMSAttribute:
        return self.attribute


class _PadesSignedAttributes(SignedAttributeProviderSpec):
    """The signed attributes pyHanko's PAdES signing asks providers for: only the
    signing-certificate-v2 attribute (content type and message digest it adds itself).
    pyHanko rebuilds it for every signature, and asn1crypto re-encodes a built structure
    on every dump; built once and parsed back, it costs nothing. CAdES extras
    (``cades_signed_attrs``) are not used by this service and would be ignored."""

    def __init__(self, signing_cert):
        attribute = simple_cms_attribute("signing_certificate_v2", as_signing_certificate_v2(signing_cert))
        self._attribute = cms.CMSAttribute.load(attribute.dump())

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str):
        yield _FixedAttribute(self._attribute)


class InMemorySigner(signers.SimpleSigner):
    """SimpleSigner with the ``cryptography`` key object kept between signatures, and its
    fixed signed attribute built once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._private_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)
        self.signed_attr_prov_spec = _PadesSignedAttributes(self.signing_cert)

    @classmethod
    def from_simple(cls, simple: signers.SimpleSigner) -> "InMemorySigner":
        return cls(signing_cert=simple.signing_cert, signing_key=simple.signing_key,
                   cert_registry=simple.cert_registry)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        key = self._private_key
        if name == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if name == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if name == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, *process_pss_params(mechanism["parameters"]))
        if name == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        # Anything else (DSA, Ed448, ML-DSA): pyHanko's own path.
        return super().sign_raw(data, digest_algorithm)
