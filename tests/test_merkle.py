"""RFC 9162 Merkle trees: published RFC 6962 vectors, Hypothesis properties, second preimages."""

from __future__ import annotations

import hashlib
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.leaf import LEAF_TAG, certificate_leaf, leaf_input
from anchoring.merkle import (
    MerkleTree,
    consistency_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The reference inputs of the Certificate Transparency / transparency-dev merkle test suites.
VECTOR_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
                 bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# Inclusion proof of leaf 0 in the tree of 8 (same suites).
VECTOR_PATH_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]

leaves_strategy = st.lists(st.binary(min_size=0, max_size=40), min_size=1, max_size=80)


def test_empty_tree_hash_is_sha256_of_nothing():
    assert root_of([]) == hashlib.sha256(b"").digest()


def test_published_roots():
    hashes = [leaf_hash(x) for x in VECTOR_LEAVES]
    for n in range(1, 9):
        assert root_of(hashes[:n]).hex() == VECTOR_ROOTS[n - 1]
        assert MerkleTree(hashes[:n]).root.hex() == VECTOR_ROOTS[n - 1]


def test_published_inclusion_proof():
    tree = MerkleTree.from_inputs(VECTOR_LEAVES)
    assert [p.hex() for p in tree.inclusion_proof(0)] == VECTOR_PATH_0_OF_8
    assert verify_inclusion(leaf_hash(VECTOR_LEAVES[0]), 0, 8, tree.inclusion_proof(0), tree.root)


@settings(max_examples=150, deadline=None)
@given(leaves_strategy)
def test_every_leaf_of_a_random_tree_verifies(inputs):
    tree = MerkleTree.from_inputs(inputs)
    assert tree.root == root_of([leaf_hash(x) for x in inputs])
    for i, x in enumerate(inputs):
        assert verify_inclusion(leaf_hash(x), i, tree.size, tree.inclusion_proof(i), tree.root)


@settings(max_examples=150, deadline=None)
@given(leaves_strategy, st.data())
def test_any_changed_byte_index_or_size_fails(inputs, data):
    tree = MerkleTree.from_inputs(inputs)
    i = data.draw(st.integers(0, tree.size - 1))
    leaf, path = leaf_hash(inputs[i]), tree.inclusion_proof(i)
    # A flipped bit in the leaf, in any path element, or in the root.
    bit = data.draw(st.integers(0, 255))
    flipped = bytearray(leaf)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert not verify_inclusion(bytes(flipped), i, tree.size, path, tree.root)
    if path:
        k = data.draw(st.integers(0, len(path) - 1))
        bad = list(path)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        assert not verify_inclusion(leaf, i, tree.size, bad, tree.root)
        assert not verify_inclusion(leaf, i, tree.size, path[:-1], tree.root)
    wrong_index = data.draw(st.integers(0, tree.size))
    if wrong_index != i and leaf_hash(inputs[wrong_index % tree.size]) != leaf:
        assert not verify_inclusion(leaf, wrong_index, tree.size, path, tree.root)
    assert not verify_inclusion(leaf, i, i, path, tree.root)  # index outside the tree


@settings(max_examples=100, deadline=None)
@given(leaves_strategy, st.data())
def test_consistency_proofs(inputs, data):
    hashes = [leaf_hash(x) for x in inputs]
    n = len(hashes)
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(hashes, m)
    assert verify_consistency(m, n, proof, root_of(hashes[:m]), root_of(hashes))
    if m < n:
        other = root_of([leaf_hash(b"x" + x) for x in inputs[:m]])
        assert not verify_consistency(m, n, proof, other, root_of(hashes))


def test_second_preimage_interior_node_is_not_a_leaf():
    """An attacker presents the concatenation of two children as a 'leaf': the domain
    separation (0x00 leaves, 0x01 nodes) makes its hash differ from the interior node."""
    tree = MerkleTree.from_inputs([b"a", b"b", b"c", b"d"])
    left, right = tree.levels[0][0], tree.levels[0][1]
    interior = node_hash(left, right)
    fake_leaf_input = left + right
    assert leaf_hash(fake_leaf_input) != interior
    # The interior node, presented as leaf 0 of a 2-leaf tree, does not verify against the root.
    assert not verify_inclusion(leaf_hash(fake_leaf_input), 0, 2, [tree.levels[1][1]], tree.root)


def test_certificate_leaf_format():
    cid = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    digest = bytes(range(32))
    expected = hashlib.sha256(b"\x00" + b"ENOTARY-LEAF-V1" + cid.bytes + digest).digest()
    assert LEAF_TAG == b"ENOTARY-LEAF-V1"
    assert leaf_input(cid, digest) == b"ENOTARY-LEAF-V1" + cid.bytes + digest
    assert certificate_leaf(cid, digest) == expected
