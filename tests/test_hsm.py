"""Office keys in a PKCS#11 token: SoftHSM2 for real. The key is generated inside the
token, certified by the office CA, registered on the ledger, and signs certificates that
verify PASSED; a wrong PIN is a clear error."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from records.matters import EXAMPLES
from issuer.service import issue_certificate
from keys.devpki import OfficeIdentity, certify_signing_key, load_office_ca, pem
from keys.errors import KeyStoreError, KeyStoreLocked
from keys.pkcs11_store import Pkcs11Config, load_pkcs11_signer
from verifier.report import Indication
from verifier.service import verify_pdf

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN, SO_PIN, TOKEN, KEY = "246813", "135792", "notary-office", "office-signing"


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    """One token for the module: the PKCS#11 library is initialised once per process."""
    tmp_path = tmp_path_factory.mktemp("softhsm")
    if not MODULE.exists() or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is not installed; `make test` installs the Debian package softhsm2")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--so-pin", SO_PIN, "--pin", PIN],
                   check=True, capture_output=True)
    import pkcs11
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    lib = pkcs11.lib(str(MODULE))
    with lib.get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        public, _private = params.generate_keypair(store=True, label=KEY)
        spki = encode_ec_public_key(public)
    return serialization.load_der_public_key(spki)


def test_wrong_pin_and_missing_token(token, tmp_path, sqlite_runtime):
    chain = tmp_path / "c.pem"
    chain.write_bytes((sqlite_runtime.pki_dir / "office-ca.pem").read_bytes())
    with pytest.raises(KeyStoreLocked):
        load_pkcs11_signer(Pkcs11Config(MODULE, TOKEN, "000000", KEY, chain))
    with pytest.raises(KeyStoreError):
        load_pkcs11_signer(Pkcs11Config(MODULE, "no-such-token", PIN, KEY, chain))


def test_signing_with_a_key_inside_the_token(token, sqlite_runtime, tmp_path, request):
    rt = sqlite_runtime
    ca_cert, ca_key = load_office_ca(rt.pki_dir, rt.passphrase)
    cert = certify_signing_key(OfficeIdentity(rt.office.name, rt.office.code), token, ca_cert, ca_key)
    chain = tmp_path / "hsm-chain.pem"
    chain.write_bytes(pem(cert) + pem(ca_cert))
    signer = load_pkcs11_signer(Pkcs11Config(MODULE, TOKEN, PIN, KEY, chain))
    request.addfinalizer(signer.signer.pkcs11_session.close)
    assert isinstance(signer.lock, type(threading.Lock()))
    # Register the HSM key's certificate on the ledger, as a rotation would.
    fp = signer.fingerprint
    office = rt.registry.office_by_code(rt.office.code)
    nb, na = int(cert.not_valid_before_utc.timestamp()), int(cert.not_valid_after_utc.timestamp())
    rt.registry.transact(rt.accounts.admin, "registerSigningKey", office, fp, nb, na)

    ctx = rt.issuer_context()
    from dataclasses import replace

    hsm_ctx = replace(ctx, signer=signer, key_guard=None)  # this key, not the runtime's guarded file key
    results: list = []

    def issue():  # two threads share the one session: the lock serialises them
        results.append(issue_certificate(hsm_ctx, "birth", EXAMPLES["birth"]))

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    rt.worker().run_once(force=True)
    for issued in results:
        report = verify_pdf(rt.verifier_context(), issued.pdf)
        assert report.indication is Indication.PASSED, [(c.name, c.code) for c in report.checks]
        assert report.check("office_binding").details["fingerprint"] == fp.hex()
    # The private key is not extractable from the token: only the certificate is on disk.
    assert b"PRIVATE" not in chain.read_bytes()
    x509.load_pem_x509_certificate(chain.read_bytes())


def test_runtime_uses_the_hsm_when_configured(token, runtime_factory, tmp_path):
    rt = runtime_factory("plain")
    ca_cert, ca_key = load_office_ca(rt.pki_dir, rt.passphrase)
    cert = certify_signing_key(OfficeIdentity(rt.office.name, rt.office.code), token, ca_cert, ca_key)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pem(cert) + pem(ca_cert))
    hsm = runtime_factory("plain", pkcs11_module=MODULE, pkcs11_token=TOKEN, pkcs11_pin=PIN, pkcs11_cert=chain,
                          pkcs11_key_label=KEY)
    try:
        assert hsm.signer.lock is not None  # the PKCS#11 signer, registered on the ledger at start
        assert hsm.registry.get_signing_key(hsm.signer.fingerprint) is not None
    finally:
        hsm.signer.signer.pkcs11_session.close()
