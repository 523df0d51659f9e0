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
from pyhanko.sign import signers
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params


class InMemorySigner(signers.SimpleSigner):
    """SimpleSigner with the ``cryptography`` key object kept between signatures."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._private_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)

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
