"""How a random inspection draw (双随机、一公开) is made and re-derived: pure functions, and
the check of a published draw against the ledger. Anyone holding a published draw (the
JSON of ``console.inspection.published_draw``) and a chain node can follow it; the same
procedure by hand, with ``sha256sum``, is in docs/inspection-draw.md.

The procedure
-------------
1. *Population.* The certificates of the office (or every office), of the matter (or every
   matter), issued on a date (UTC) from ``from`` to ``to``, whatever their status, by
   number, sorted by code point and each once. ``population_sha256`` is the SHA-256 of the
   numbers joined by a line feed (UTF-8, no line feed after the last).
2. *Commitment.* The object ``committed`` = {version: 1, office, matter (null: all), from,
   to (YYYY-MM-DD), sample_size, population_size, population_sha256, chain_id, registry
   (the registry contract's address, lower-case 0x-hex), nonce (16 random bytes, hex),
   previous (the commitment of the draw made before, 64 zeros for the first)} is
   written as canonical JSON: keys sorted, no spaces (``,`` and ``:``), non-ASCII characters
   as themselves, UTF-8. ``commitment`` is its SHA-256 (hex).
3. *Publication before the seed exists.* The registry administrator's account sends a
   zero-value transaction to itself whose data is the 15 bytes ``NOTARY-DRAW-V1:`` followed
   by the 32 bytes of the commitment. ``commit_block`` is the block that holds it.
4. *Seed.* ``seed_block`` = ``commit_block`` + 1, the first block made after the
   commitment was on the ledger. seed = SHA-256(commitment bytes ‖ seed block hash bytes).
5. *Selection.* Every number gets the key SHA-256(seed ‖ number in UTF-8); the numbers are
   ordered by key (as bytes, i.e. as lower-case hex strings; then by number), and the first
   min(sample_size, population_size) are the sample, in that order.

Nobody can choose the sample: the population and the parameters are fixed on the ledger
before the seed block exists, and the seed block's hash is not known to anyone before it
is made. On a shared (consortium) chain no single party makes the next block alone; on the
embedded development node (anvil), which mines only when a transaction arrives, this
service's own node makes the seed block, so the operator of that node could influence the
seed: a development draw shows the procedure, it is not an independent draw.

What the check does not prove: that the population is complete (it is the service's
certificates as its database holds them), and that no other draw of the same parameters
was made and set aside. Every draw is recorded and audited before its commitment is sent
(``notary inspect list``, ``notary audit list --action inspection``), and every commitment
is a transaction of the administrator's account, so a set-aside draw shows in both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from anchoring.chain import RegistryClient

from .errors import NotAPublishedDraw

FORMAT = "NOTARY-INSPECTION-DRAW-V1"
VERSION = 1
NOTE_PREFIX = b"NOTARY-DRAW-V1:"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TX_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-f]{40}")


# ---------------------------------------------------------------------------------- pure steps

def canonical_json(value: object) -> bytes:
    """Keys sorted, no spaces, non-ASCII as itself, UTF-8 (``jq -cjS`` writes the same for
    the objects here)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def population_digest(numbers: Sequence[str]) -> str:
    """SHA-256 (hex) of the numbers, in the order given, joined by line feeds."""
    return hashlib.sha256("\n".join(numbers).encode("utf-8")).hexdigest()


def committed_object(*, office: str | None, matter: str | None, period_from: dt.date, period_to: dt.date,
                     sample_size: int, population: Sequence[str], chain_id: int, registry: str,
                     nonce: str, previous: str) -> dict[str, Any]:
    """What the commitment is the digest of (``population`` sorted already). ``previous``:
    the commitment of the draw made before this one (64 zeros for the first), so the draws
    form a chain: a draw made and set aside shows, as the one the next draw names."""
    return {"version": VERSION, "office": office, "matter": matter, "from": period_from.isoformat(),
            "to": period_to.isoformat(), "sample_size": sample_size, "population_size": len(population),
            "population_sha256": population_digest(population), "chain_id": chain_id,
            "registry": registry.lower(), "nonce": nonce, "previous": previous}


def commitment_of(committed: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(committed)).hexdigest()


def commitment_note(commitment: str) -> bytes:
    """The data of the transaction that publishes ``commitment``."""
    return NOTE_PREFIX + bytes.fromhex(commitment)


def _hex32(value: str, what: str) -> bytes:
    text = value.lower().removeprefix("0x")
    if not _HEX64.fullmatch(text):
        raise ValueError(f"{what} is not 32 bytes of hex: {value!r:.80}")
    return bytes.fromhex(text)


def seed_of(commitment: str, seed_block_hash: str) -> bytes:
    """SHA-256(commitment ‖ seed block hash), both as their 32 bytes."""
    return hashlib.sha256(_hex32(commitment, "the commitment") + _hex32(seed_block_hash, "the block hash")).digest()


def derive_selection(commitment_hex: str, seed_block_hash: str, numbers: Iterable[str], sample_size: int) -> list[str]:
    """The sample: the numbers ordered by SHA-256(seed ‖ number), the first ``sample_size``
    (all of them when there are fewer). The order the numbers come in does not matter."""
    seed = seed_of(commitment_hex, seed_block_hash)
    ranked = sorted(set(numbers), key=lambda n: (hashlib.sha256(seed + n.encode("utf-8")).digest(), n))
    return ranked[:max(0, sample_size)]


# ---------------------------------------------------------------------------------- the published draw

@dataclass(frozen=True)
class PublishedDraw:
    committed: dict[str, Any]
    commitment: str
    commit_tx: str
    commit_block: int
    seed_block: int
    seed_block_hash: str
    population: list[str]
    selected: list[str]

    @property
    def chain_id(self) -> int:
        return int(self.committed["chain_id"])

    @property
    def registry(self) -> str:
        return str(self.committed["registry"])


_COMMITTED_TYPES: dict[str, type | tuple[type, ...]] = {
    "version": int, "office": (str, type(None)), "matter": (str, type(None)), "from": str, "to": str,
    "sample_size": int, "population_size": int, "population_sha256": str, "chain_id": int, "registry": str,
    "nonce": str, "previous": str,
}


def parse_published(doc: object) -> PublishedDraw:
    """The published draw in ``doc`` (parsed JSON), its fields checked for shape only;
    NotAPublishedDraw when it is not one."""
    def bad(why: str) -> NotAPublishedDraw:
        return NotAPublishedDraw(f"not a published inspection draw: {why}", f"不是公开的抽查结果文件：{why}")

    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f'"format" is not {FORMAT}')
    committed = doc.get("committed")
    if not isinstance(committed, dict) or set(committed) != set(_COMMITTED_TYPES):
        raise bad('"committed" does not hold exactly ' + ", ".join(sorted(_COMMITTED_TYPES)))
    for key, kind in _COMMITTED_TYPES.items():
        if not isinstance(committed[key], kind) or isinstance(committed[key], bool):
            raise bad(f'"committed.{key}" has the wrong type')
    if committed["version"] != VERSION:
        raise bad(f"version {committed['version']} is not {VERSION}")
    if not _ADDRESS.fullmatch(committed["registry"]):
        raise bad('"committed.registry" is not a lower-case 0x address')
    if not _HEX64.fullmatch(committed["previous"]):
        raise bad('"committed.previous" is not 64 lower-case hex digits')
    for key in ("commitment", "commit_tx", "seed_block_hash"):
        if not isinstance(doc.get(key), str):
            raise bad(f'"{key}" is missing')
    if not _HEX64.fullmatch(doc["commitment"]):
        raise bad('"commitment" is not 64 lower-case hex digits')
    if not _TX_HASH.fullmatch(doc["commit_tx"]) or not _TX_HASH.fullmatch(doc["seed_block_hash"]):
        raise bad('"commit_tx" or "seed_block_hash" is not 0x and 64 lower-case hex digits')
    for key in ("commit_block", "seed_block"):
        if not isinstance(doc.get(key), int) or isinstance(doc[key], bool) or doc[key] < 0:
            raise bad(f'"{key}" is not a block number')
    for key in ("population", "selected"):
        if not isinstance(doc.get(key), list) or not all(isinstance(n, str) for n in doc[key]):
            raise bad(f'"{key}" is not a list of certificate numbers')
    return PublishedDraw(dict(committed), doc["commitment"], doc["commit_tx"], doc["commit_block"], doc["seed_block"],
                         doc["seed_block_hash"], list(doc["population"]), list(doc["selected"]))


def local_problems(draw: PublishedDraw) -> list[str]:
    """What is wrong with the draw on its own (no ledger needed)."""
    problems = []
    c = draw.committed
    if any(a >= b for a, b in zip(draw.population, draw.population[1:])):
        problems.append("the population is not sorted by number, each number once")
    if len(draw.population) != c["population_size"]:
        problems.append(f"the population lists {len(draw.population)} certificates; "
                        f"{c['population_size']} were committed")
    if population_digest(draw.population) != c["population_sha256"]:
        problems.append("the population's SHA-256 is not the one committed")
    if commitment_of(c) != draw.commitment:
        problems.append("the commitment is not the SHA-256 of the committed parameters")
    if draw.seed_block != draw.commit_block + 1:
        problems.append(f"the seed block {draw.seed_block} is not the block after the commitment's "
                        f"({draw.commit_block} + 1)")
    if derive_selection(draw.commitment, draw.seed_block_hash, draw.population, c["sample_size"]) != draw.selected:
        problems.append("the selected certificates are not the ones the seed selects from the population")
    return problems


def ledger_problems(draw: PublishedDraw, ledger: RegistryClient | Web3) -> list[str]:
    """What the ledger contradicts: the commitment's transaction (there, in ``commit_block``,
    from the registry's administrator to itself, carrying the commitment) and the seed
    block's hash. ChainUnavailable when the node cannot be asked."""
    registry = RegistryClient(ledger, draw.registry) if isinstance(ledger, Web3) else ledger
    if registry.address.lower() != draw.registry:
        return [f"the draw names registry {draw.registry}, not {registry.address.lower()}"]
    chain_id = registry.chain_id()
    if chain_id != draw.chain_id:
        return [f"the node is on chain {chain_id}; the draw was made on chain {draw.chain_id}"]
    if not registry.has_code():
        return [f"there is no registry contract at {draw.registry} on this node"]
    problems = []
    tx = registry.read_transaction(draw.commit_tx)
    if tx is None or tx.block_number is None:
        problems.append(f"the commitment's transaction {draw.commit_tx} is not on the ledger")
    else:
        if tx.block_number != draw.commit_block:
            problems.append(f"the commitment's transaction is in block {tx.block_number}, "
                            f"not in block {draw.commit_block}")
        if tx.data != commitment_note(draw.commitment):
            problems.append("the commitment's transaction does not carry this commitment")
        admin = registry.admin(tx.block_number)
        if tx.sender != admin:
            problems.append(f"the commitment was sent by {tx.sender}, not by the registry's administrator {admin}")
        if tx.to != tx.sender or tx.value != 0 or tx.succeeded is not True:
            problems.append("the commitment's transaction is not a successful zero-value note to its own sender")
    header = registry.block_header(draw.seed_block)
    if header is None:
        problems.append(f"the node has no block {draw.seed_block} (the seed block)")
    elif header[0].lower() != draw.seed_block_hash:
        problems.append(f"block {draw.seed_block} has hash {header[0].lower()}, not the seed block hash of the draw")
    return problems


def verify_published(doc: object, ledger: RegistryClient | Web3) -> list[str]:
    """Re-derive a published draw: the problems found (empty: re-derived). Raises
    NotAPublishedDraw for a document that is not one and ChainUnavailable when the node
    cannot be asked."""
    draw = parse_published(doc)
    return local_problems(draw) + ledger_problems(draw, ledger)
