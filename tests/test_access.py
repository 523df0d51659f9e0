"""Access codes: the keyed hash, the earlier scrypt scheme still accepted, wrong inputs."""

from __future__ import annotations

import hashlib
import uuid

from records.access import SCHEME, access_code_matches, hash_access_code, new_access_code, normalise


def test_keyed_hash_needs_the_service_secret():
    cid, code = uuid.uuid4(), new_access_code()
    stored = hash_access_code(b"service-secret", cid, code)
    assert stored.startswith(SCHEME + "$") and len(stored) <= 96
    assert access_code_matches(b"service-secret", cid, code, stored)
    assert access_code_matches(b"service-secret", cid, code.lower().replace("-", " "), stored)  # as typed
    assert not access_code_matches(b"another-secret", cid, code, stored)
    assert not access_code_matches(b"service-secret", uuid.uuid4(), code, stored)  # bound to the certificate
    for wrong in ("", None, "2345-678", "2345-6789-2"):
        assert not access_code_matches(b"service-secret", cid, wrong, stored)


def test_hashes_of_the_earlier_scheme_still_match():
    cid, code = uuid.uuid4(), "ABCD-EFGH"
    legacy = hashlib.scrypt(normalise(code).encode(), salt=b"ENOTARY-ACCESS-V1" + cid.bytes,
                            n=2**14, r=8, p=1, dklen=32).hex()
    assert access_code_matches(b"any", cid, code, legacy)
    assert not access_code_matches(b"any", cid, "ABCD-EFGJ", legacy)
