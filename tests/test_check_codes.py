"""Every check code of ``verifier.messages.MESSAGES`` is produced by some test.

Two halves:

- a census: each code appears as a string literal in a test module (in this module, only
  inside the producing tests below, never in a list of codes), unless it is allowlisted
  with a reason as not being a check result; and every code a verifier puts on a check
  has a message;
- the producing tests for the codes no other test produced: each builds the situation and
  asserts the exact code on the exact check (and, where it applies, the offline verifiers'
  verdicts too).
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import hashlib
import io
import json
import re
import shutil
import uuid
import datetime as dt
from pathlib import Path

import pytest
from eth_account import Account
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import create_engine

from anchoring.chain import RegistryClient, connect
from anchoring.node import EmbeddedNode
from records.matters import EXAMPLES, parse_matter
from signing.pades import sign_pdf
from issuer.render import CertificatePage, render_certificate
from issuer.service import issue_certificate
from keys.tsa import development_tsa
from keys.devpki import OfficeIdentity, ensure_dev_pki, ensure_tsa
from keys.store import load_pkcs12_signer
from notary.runtime import Runtime, open_runtime
from tests.conftest import make_settings
from tests.pdf_tools import flip_byte_in_signed_range
from tests.test_lying_nodes import LyingNode, move_anchor, other_office_anchor
from tests.test_second_office import Anchored, anchored, pinned, receipt_of, registered_later_certificate
from verifier import standalone
from verifier.messages import MESSAGES
from verifier.offline import verify_offline
from verifier.report import CheckStatus, Indication, Report
from verifier.service import verify_digest, verify_pdf

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
THIS = Path(__file__).resolve()
# Codes in MESSAGES that no check ever carries (e.g. text used only to explain another
# result), each with the reason. None today: every code is a check result.
NOT_CHECK_RESULTS: dict[str, str] = {}
CENSUS_TESTS = {"test_every_check_code_is_asserted_by_a_test", "test_every_code_on_a_check_has_a_message"}
DEAD, DEAD_TOO = "http://127.0.0.1:9", "http://127.0.0.1:10"
V, I, S, E = CheckStatus.VALID, CheckStatus.INVALID, CheckStatus.SKIPPED, CheckStatus.ERROR  # noqa: E741 - the four statuses, as in the reports


# ------------------------------------------------------------------------------ the census

def _codes_in_tests() -> dict[str, set[str]]:
    """code -> test modules with that exact string literal (this module: producing tests only)."""
    found: dict[str, set[str]] = {}
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes = [tree]
        if path.resolve() == THIS:
            scopes = [n for n in tree.body if isinstance(n, ast.FunctionDef)
                      and n.name.startswith("test_") and n.name not in CENSUS_TESTS]
        for scope in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MESSAGES:
                    found.setdefault(node.value, set()).add(path.name)
    return found


def _codes_on_checks() -> dict[str, set[str]]:
    """code -> verifier modules that put it on a check (``Check.of(name, status, "CODE")``)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "verifier").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "of" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "Check" and len(node.args) >= 3 \
                    and isinstance(node.args[2], ast.Constant):
                found.setdefault(node.args[2].value, set()).add(path.name)
    return found


def test_every_check_code_is_asserted_by_a_test():
    asserted = _codes_in_tests()
    missing = sorted(c for c in MESSAGES if c not in asserted and c not in NOT_CHECK_RESULTS)
    assert not missing, f"check codes no test asserts: {missing}"
    assert set(NOT_CHECK_RESULTS) <= set(MESSAGES), "allowlisted codes that do not exist"
    assert all(reason.strip() for reason in NOT_CHECK_RESULTS.values())


def test_every_code_on_a_check_has_a_message():
    on_checks = _codes_on_checks()
    assert {"SIGNATURE_INTACT", "ANCHORED", "NOT_REVOKED", "STATUS_UNKNOWN"} <= set(on_checks)  # the scan works
    assert not set(on_checks) - set(MESSAGES), f"codes without a message: {sorted(set(on_checks) - set(MESSAGES))}"
    # An allowlisted code must really never be a check's.
    assert not set(on_checks) & set(NOT_CHECK_RESULTS)
    # The offline verifier puts the quorum's problem codes on its checks.
    assert {"NODES_DISAGREE", "NO_QUORUM", "LEDGER_UNAVAILABLE"} <= set(MESSAGES)


# ------------------------------------------------------------------------------ fixtures and helpers

@pytest.fixture(scope="module")
def rt(tmp_path_factory, anvil_url):
    runtime = open_runtime(make_settings(tmp_path_factory.mktemp("codes") / "office", anvil_url))
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def good(rt) -> Anchored:
    return anchored(rt)


@pytest.fixture(scope="module")
def liar(anvil_url):
    node = LyingNode(anvil_url)
    yield node
    node.close()


@pytest.fixture
def lying(liar):
    liar.reset()
    yield liar
    liar.reset()


def expect(report: Report, name: str, status: CheckStatus, code: str) -> None:
    check = report.check(name)
    assert (check.status, check.code) == (status, code), [(c.name, c.status.value, c.code) for c in report.checks]


def offline(rt: Runtime, item: Anchored, urls: list[str], receipt=None, **kw) -> Report:
    return verify_offline(item.cert.pdf, receipt or item.receipt, urls, rt.trust_bundle(), timeout=5, **kw)


def alone(rt: Runtime, item: Anchored, urls: list[str], receipt=None, **kw) -> standalone.Result:
    body = json.loads((receipt or item.receipt).model_dump_json())
    return standalone.check(item.cert.pdf, body, pinned(rt), urls, timeout=5, **kw)


def page(rt: Runtime) -> bytes:
    p = CertificatePage(uuid.uuid4(), "(2026)沪东证字第999997号", rt.office.name, dt.date.today(),
                        parse_matter("birth", EXAMPLES["birth"]), "http://127.0.0.1:8000/v/x?c=ABCDEF", "ABCDEF")
    return render_certificate(p, rt.settings.cjk_font)


def resign_over(pdf: bytes, signer, last_length: int) -> bytes:
    """The same file with its signature made again, cryptographically valid, over a byte
    range whose second part is ``last_length`` bytes long (the /ByteRange entry rewritten
    in place, the CMS made with the office key over exactly those bytes)."""
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    start1, len1, start2, _ = sig.byte_range
    entry = re.compile(rb"/ByteRange\s*\[[^\]]*\]").search(pdf, start2)
    assert entry is not None
    new = b"/ByteRange [%d %d %d %d" % (start1, len1, start2, last_length)
    new += b" " * (len(entry.group(0)) - len(new) - 1) + b"]"
    data = bytearray(pdf)
    data[entry.start():entry.end()] = new
    digest = hashlib.sha256(bytes(data[start1:start1 + len1]) + bytes(data[start2:start2 + last_length])).digest()
    cms = asyncio.run(signer.async_sign(digest, "sha256", use_pades=True)).dump().hex().encode()
    hole = start2 - 1 - (len1 + 1)  # between < and >
    assert len(cms) <= hole
    data[len1 + 1:start2 - 1] = cms + b"0" * (hole - len(cms))
    return bytes(data)


# ------------------------------------------------------------------------------ document checks

def test_a_passing_report_names_each_good_result(rt, good, anvil_url):
    for report in (verify_pdf(rt.verifier_context(), good.cert.pdf), offline(rt, good, [anvil_url])):
        assert report.indication is Indication.PASSED
        expect(report, "document_integrity", V, "SIGNATURE_INTACT")
        expect(report, "signer_trust", V, "SIGNER_TRUSTED")
        expect(report, "timestamp", V, "TIMESTAMP_VALID")
        expect(report, "office_binding", V, "OFFICE_REGISTERED")
        expect(report, "anchor_inclusion", V, "ANCHORED")
        expect(report, "status", V, "NOT_REVOKED")


def test_a_broken_signature_leaves_the_signer_and_timestamp_unchecked(rt, good):
    report = verify_pdf(rt.verifier_context(), flip_byte_in_signed_range(good.cert.pdf))
    assert report.indication is Indication.FAILED
    expect(report, "document_integrity", I, "SIGNATURE_BROKEN")
    expect(report, "signer_trust", S, "SIGNER_NOT_CHECKED")
    # A signature whose CMS blob is destroyed cannot even be read: nothing after it is checked.
    pdf = good.cert.pdf
    _, len1, start2, _ = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].byte_range
    damaged = pdf[:len1 + 1] + b"0" * (start2 - len1 - 2) + pdf[start2 - 1:]
    assert len(damaged) == len(pdf)
    report = verify_pdf(rt.verifier_context(), damaged)
    assert report.indication is Indication.FAILED
    expect(report, "document_integrity", I, "SIGNATURE_BROKEN")
    expect(report, "signer_trust", S, "SIGNER_NOT_CHECKED")
    expect(report, "timestamp", S, "NOT_CHECKED")


def test_a_signer_outside_the_notarial_pki(rt, tmp_path):
    rogue = ensure_dev_pki(tmp_path / "rogue", OfficeIdentity(rt.office.name, rt.office.code), b"rogue")
    forged = sign_pdf(page(rt), load_pkcs12_signer(rogue.signer_p12, b"rogue"), rt.office.name)
    report = verify_pdf(rt.verifier_context(), forged)
    assert report.indication is Indication.FAILED
    expect(report, "document_integrity", V, "SIGNATURE_INTACT")
    expect(report, "signer_trust", I, "SIGNER_UNTRUSTED")
    expect(report, "office_binding", I, "OFFICE_KEY_UNKNOWN")
    expect(report, "anchor_inclusion", I, "ANCHOR_NOT_FOUND")
    expect(report, "status", S, "NOT_CHECKED")


def test_a_timestamp_from_an_untrusted_authority(rt, tmp_path):
    ensure_dev_pki(tmp_path / "rogue", OfficeIdentity("x", "X"), b"rogue")
    tsa = development_tsa(ensure_tsa(tmp_path / "rogue", b"rogue"), b"rogue")
    report = verify_pdf(rt.verifier_context(), sign_pdf(page(rt), rt.signer, rt.office.name, tsa))
    assert report.indication is Indication.FAILED
    expect(report, "signer_trust", V, "SIGNER_TRUSTED")
    expect(report, "timestamp", I, "TIMESTAMP_INVALID")


def test_a_fingerprint_without_the_document(rt):
    report = verify_digest(rt.verifier_context(), "ab" * 32)
    assert report.indication is Indication.FAILED
    for name in ("document_integrity", "signer_trust", "timestamp", "office_binding"):
        expect(report, name, S, "DOCUMENT_NOT_PROVIDED")
    expect(report, "anchor_inclusion", I, "ANCHOR_NOT_FOUND")


def test_a_signature_that_does_not_cover_the_whole_file(rt, good):
    """A genuine office signature, valid over its byte range, but the range stops short of
    the end of the file: the bytes after it are unsigned."""
    pdf = good.cert.pdf
    _, _, start2, len2 = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].byte_range
    short = resign_over(pdf, rt.signer.signer, len2 - 20)
    report = verify_pdf(rt.verifier_context(), short)
    assert report.indication is Indication.FAILED
    expect(report, "document_integrity", I, "COVERAGE_INCOMPLETE")
    # The control: the same surgery over the full range is a good signature again.
    control = verify_pdf(rt.verifier_context(), resign_over(pdf, rt.signer.signer, len2))
    expect(control, "document_integrity", V, "SIGNATURE_INTACT")


# ------------------------------------------------------------------------------ database and office

def test_the_database_unavailable_during_verification(rt, good, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    shutil.copy(rt.settings.data_path / "notary.sqlite3", gone / "notary.sqlite3")
    engine = create_engine(f"sqlite:///{gone / 'notary.sqlite3'}")
    engine.dispose()
    shutil.rmtree(gone)  # the file and its directory removed under the engine
    try:
        report = verify_pdf(dataclasses.replace(rt.verifier_context(), engine=engine), good.cert.pdf)
    finally:
        engine.dispose()
    assert report.indication is Indication.INDETERMINATE
    expect(report, "document_integrity", V, "SIGNATURE_INTACT")
    expect(report, "office_binding", V, "OFFICE_REGISTERED")
    expect(report, "anchor_inclusion", E, "STATUS_UNKNOWN")
    expect(report, "status", E, "STATUS_UNKNOWN")


def test_a_suspended_office(rt, good, anvil_url):
    office = rt.worker().office_number
    rt.registry.transact(rt.accounts.admin, "setOfficeSuspended", office, True)
    try:
        for report in (verify_pdf(rt.verifier_context(), good.cert.pdf), offline(rt, good, [anvil_url])):
            assert report.indication is Indication.FAILED
            expect(report, "office_binding", I, "OFFICE_SUSPENDED")
        result = alone(rt, good, [anvil_url])
        assert (result.indication, result.code) == ("FAILED", "OFFICE_SUSPENDED")
    finally:
        rt.registry.transact(rt.accounts.admin, "setOfficeSuspended", office, False)
    assert verify_pdf(rt.verifier_context(), good.cert.pdf).indication is Indication.PASSED


def test_a_key_registered_with_a_window_that_misses_the_signing_time(rt, anvil_url, tmp_path):
    """A second office on the same registry, registered by the administrator with its key's
    window set to 1970."""
    admin, anchor = Account.create(), Account.create()
    code = "SH-WINDOW"
    rt.registry.transact(rt.accounts.admin, "registerOffice", code, "上海市窗口公证处", [anchor.address])
    other = open_runtime(make_settings(tmp_path / "window", anvil_url, contract_address=rt.registry.address,
                                       admin_private_key=admin.key.hex(), anchor_private_key=anchor.key.hex(),
                                       office_code=code, office_name="上海市窗口公证处", office_abbrev="沪窗"))
    try:
        rt.registry.transact(rt.accounts.admin, "registerSigningKey", rt.registry.office_by_code(code),
                             other.signer.fingerprint, 1, 1000)
        item = anchored(other)
        for report in (verify_pdf(other.verifier_context(), item.cert.pdf), offline(other, item, [anvil_url])):
            assert report.indication is Indication.FAILED
            expect(report, "office_binding", I, "OFFICE_KEY_OUT_OF_WINDOW")
        result = alone(other, item, [anvil_url])
        assert (result.indication, result.code) == ("FAILED", "OFFICE_KEY_OUT_OF_WINDOW")
    finally:
        other.close()


def test_a_key_registered_after_the_signing_time(tmp_path):
    """On a chain of its own whose clock runs an hour ahead (the session's node is shared)."""
    node = EmbeddedNode(tmp_path / "anvil")
    url = node.ensure()
    opened: list[Runtime] = []

    def runtime(name: str, **overrides) -> Runtime:
        opened.append(open_runtime(make_settings(tmp_path / name, url, **overrides)))
        return opened[-1]

    try:
        item = registered_later_certificate(url, runtime)
        for report in (verify_pdf(item.rt.verifier_context(), item.cert.pdf), offline(item.rt, item, [url])):
            assert report.indication is Indication.FAILED
            expect(report, "office_binding", I, "OFFICE_KEY_REGISTERED_LATER")
        result = alone(item.rt, item, [url])
        assert (result.indication, result.code) == ("FAILED", "OFFICE_KEY_REGISTERED_LATER")
    finally:
        for r in opened:
            r.close()
        node.stop()


# ------------------------------------------------------------------------------ anchors and receipts

def test_an_anchor_waiting_for_confirmations(runtime_factory, anvil_url):
    """Settings ask for 5 confirmations; the anchor is in the latest block (its worker run
    with 1, as an operator might)."""
    rt = runtime_factory("confirming", confirmations=5)
    cert = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
    worker = rt.worker()
    worker.config = dataclasses.replace(worker.config, confirmations=1)
    worker.run_once(force=True)
    item = Anchored(rt, cert, receipt_of(rt, cert))
    assert rt.registry.block_number() == item.receipt.block_number  # the latest block
    for report in (verify_pdf(rt.verifier_context(), cert.pdf), offline(rt, item, [anvil_url], confirmations=5)):
        assert report.indication is Indication.INDETERMINATE
        expect(report, "anchor_inclusion", S, "ANCHOR_CONFIRMING")
        assert report.check("anchor_inclusion").details["confirmations"] == 1
    result = alone(rt, item, [anvil_url], confirmations=5)
    assert (result.indication, result.code) == ("INDETERMINATE", "ANCHOR_CONFIRMING")
    connect(anvil_url).provider.make_request("anvil_mine", ["0x4"])
    for report in (verify_pdf(rt.verifier_context(), cert.pdf), offline(rt, item, [anvil_url], confirmations=5)):
        expect(report, "anchor_inclusion", V, "ANCHORED")
    assert alone(rt, item, [anvil_url], confirmations=5).indication == "PASSED"


def test_an_anchor_of_another_office_shown_by_a_lying_node(rt, good, lying):
    """The contract reads the anchor in the key office's scope, so only a lying node can
    show another office's anchor there."""
    lying.evidence = other_office_anchor
    report = offline(rt, good, [lying.url])
    assert report.indication is Indication.FAILED
    expect(report, "anchor_inclusion", I, "ANCHOR_OTHER_OFFICE")
    through_liar = RegistryClient(connect(lying.url), rt.registry.address)
    online = verify_pdf(dataclasses.replace(rt.verifier_context(), registry=through_liar), good.cert.pdf)
    assert online.indication is Indication.FAILED
    expect(online, "anchor_inclusion", I, "ANCHOR_OTHER_OFFICE")
    # The standalone verifier folds it into "no such anchor of the key's office".
    result = alone(rt, good, [lying.url])
    assert (result.indication, result.code) == ("FAILED", "ANCHOR_NOT_ON_CHAIN")


def test_nodes_that_disagree(rt, good, lying, anvil_url):
    lying.evidence = move_anchor
    report = offline(rt, good, [anvil_url, lying.url])
    assert report.indication is Indication.INDETERMINATE
    for name in ("office_binding", "anchor_inclusion", "status"):
        expect(report, name, E, "NODES_DISAGREE")
    result = alone(rt, good, [lying.url, anvil_url])
    assert (result.indication, result.code) == ("INDETERMINATE", "NODES_DISAGREE")


def test_too_few_nodes_answering(rt, good, anvil_url):
    report = offline(rt, good, [anvil_url, DEAD, DEAD_TOO])
    assert report.indication is Indication.INDETERMINATE
    for name in ("office_binding", "anchor_inclusion", "status"):
        expect(report, name, E, "NO_QUORUM")
    result = alone(rt, good, [DEAD, anvil_url, DEAD_TOO])
    assert (result.indication, result.code, result.nodes_agreeing) == ("INDETERMINATE", "NO_QUORUM", 1)


def test_receipts_that_do_not_fit(rt, good, anvil_url):
    other = anchored(rt)
    edits = {
        "RECEIPT_LEAF_MISMATCH": dict(leaf_hash=other.receipt.leaf_hash),
        "RECEIPT_OFFICE_MISMATCH": dict(office="SH-ELSEWHERE"),
        "RECEIPT_WRONG_LEDGER": dict(contract="0x" + "11" * 20),
        "ANCHOR_PROOF_INVALID": dict(leaf_index=good.receipt.tree_size),
        "ANCHOR_NOT_ON_CHAIN": dict(block_number=good.receipt.block_number + 1000),
    }
    for code, edit in edits.items():
        receipt = good.receipt.model_copy(update=edit)
        report = offline(rt, good, [anvil_url], receipt)
        assert report.indication is Indication.FAILED, code
        expect(report, "anchor_inclusion", I, code)
        result = alone(rt, good, [anvil_url], receipt)
        assert (result.indication, result.code) == ("FAILED", code)
    chain = good.receipt.model_copy(update=dict(chain_id=good.receipt.chain_id + 1))
    expect(offline(rt, good, [anvil_url], chain), "anchor_inclusion", I, "RECEIPT_WRONG_LEDGER")
    assert alone(rt, good, [anvil_url], chain).code == "RECEIPT_WRONG_LEDGER"
    # Another certificate's receipt for this file.
    report = verify_offline(good.cert.pdf, other.receipt, [anvil_url], rt.trust_bundle())
    expect(report, "anchor_inclusion", I, "RECEIPT_OTHER_DOCUMENT")
    body = json.loads(other.receipt.model_dump_json())
    assert standalone.check(good.cert.pdf, body, pinned(rt), [anvil_url]).code == "RECEIPT_OTHER_DOCUMENT"
