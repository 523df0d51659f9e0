"""The office's CAdES signature over an evidence package's manifest (ETSI EN 319 162-1
ASiC-E with CAdES): a detached CMS SignedData, CAdES-B-B (signing-certificate-v2 and
signing-time signed), made with the office's signing key wherever it lives (file or HSM)."""

from __future__ import annotations

import copy
import datetime as dt

from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from keys.store import OfficeSigner
from verifier.cades import run_sync


def sign_manifest(signer: OfficeSigner, manifest: bytes, at: dt.datetime) -> bytes:
    """A detached CAdES signature (DER) over ``manifest``, claiming signing time ``at``."""
    # The office's signers carry PAdES's attribute set (no signing-time: PAdES forbids it,
    # CAdES requires it). A copy without it gets pyHanko's CAdES set, and the shared signer
    # is left as it is for the PDFs signed meanwhile.
    cades = copy.copy(signer.signer)
    cades.signed_attr_prov_spec = None
    signing = cades.async_sign_general_data(manifest, "sha256", detached=True, use_cades=True,
                                            signed_attr_settings=PdfCMSSignedAttributes(signing_time=at))
    if signer.lock is None:
        info = run_sync(signing)
    else:
        with signer.lock:  # a PKCS#11 session serves one thread at a time
            info = run_sync(signing)
    return info.dump()
