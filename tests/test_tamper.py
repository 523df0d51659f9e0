"""Forgeries and edge states: a flipped byte, a signer outside the notarial PKI, a
certificate not yet anchored, a revoked one, and an unreachable chain node."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from anchoring.chain import RegistryClient, connect
from records.matters import EXAMPLES
from records.models import Certificate, CertificateStatus
from signing.pades import sign_pdf
from issuer.render import CertificatePage, render_certificate
from records.matters import parse_matter
from keys.devpki import OfficeIdentity, ensure_dev_pki
from keys.store import load_pkcs12_signer
from verifier.report import CheckStatus, Indication
from verifier.service import VerifierContext, verify_pdf
from tests.pdf_tools import flip_byte_in_signed_range


def _issue_and_anchor(rt, matter="birth"):
    from issuer.service import issue_certificate

    issued = issue_certificate(rt.issuer_context(), matter, EXAMPLES[matter])
    rt.worker().run_once(force=True)
    return issued


def test_flipped_byte_fails_document_integrity(sqlite_runtime):
    issued = _issue_and_anchor(sqlite_runtime)
    report = verify_pdf(sqlite_runtime.verifier_context(), flip_byte_in_signed_range(issued.pdf))
    assert report.indication is Indication.FAILED
    assert report.check("document_integrity").status is CheckStatus.INVALID
    assert report.check("document_integrity").code == "SIGNATURE_BROKEN"


def test_signer_outside_the_notarial_pki_fails_signer_trust(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    # A look-alike PKI with the same office name, not chained to the notarial root.
    rogue = ensure_dev_pki(tmp_path / "rogue", OfficeIdentity(rt.office.name, rt.office.code), b"rogue")
    signer = load_pkcs12_signer(rogue.signer_p12, b"rogue")
    matter = parse_matter("birth", EXAMPLES["birth"])
    import uuid

    page = CertificatePage(uuid.uuid4(), "(2026)沪东证字第999999号", rt.office.name, dt.date.today(), matter,
                           "http://127.0.0.1:8000/v/x?c=ABCDEF", "ABCDEF")
    forged = sign_pdf(render_certificate(page, rt.settings.cjk_font), signer, rt.office.name)
    report = verify_pdf(rt.verifier_context(), forged)
    assert report.indication is Indication.FAILED
    assert report.check("document_integrity").status is CheckStatus.VALID
    assert report.check("signer_trust").status is CheckStatus.INVALID
    assert report.check("office_binding").code == "OFFICE_KEY_UNKNOWN"
    assert report.check("anchor_inclusion").code == "ANCHOR_NOT_FOUND"


def test_not_yet_anchored_is_indeterminate_with_anchor_pending(sqlite_runtime):
    from issuer.service import issue_certificate

    issued = issue_certificate(sqlite_runtime.issuer_context(), "birth", EXAMPLES["birth"])
    report = verify_pdf(sqlite_runtime.verifier_context(), issued.pdf)
    assert report.indication is Indication.INDETERMINATE
    assert report.check("anchor_inclusion").code == "ANCHOR_PENDING"
    assert report.check("document_integrity").status is CheckStatus.VALID


def test_revoked_certificate_fails_on_status(sqlite_runtime):
    rt = sqlite_runtime
    revoked, neighbour = _issue_and_anchor(rt), _issue_and_anchor(rt)
    with Session(rt.engine) as s:
        cert = s.get(Certificate, revoked.id)
        cert.status = CertificateStatus.REVOKED
        s.add(cert)
        s.commit()
    report = verify_pdf(rt.verifier_context(), revoked.pdf)
    assert report.indication is Indication.FAILED and report.check("status").code == "REVOKED"
    assert verify_pdf(rt.verifier_context(), neighbour.pdf).indication is Indication.PASSED


def test_revoked_on_the_ledger_fails_on_status(sqlite_runtime):
    from sqlmodel import select

    from anchoring.models import AnchorBatch, OutboxEntry
    from anchoring.receipt import split_path

    rt = sqlite_runtime
    issued = _issue_and_anchor(rt)
    with Session(rt.engine) as s:
        entry = s.exec(select(OutboxEntry).where(OutboxEntry.certificate_id == issued.id)).one()
        batch = s.get(AnchorBatch, entry.batch_id)
    path = [bytes.fromhex(h) for h in split_path(entry.audit_path)]
    rt.registry.transact(rt.accounts.anchor, "revokeLeaf", bytes.fromhex(batch.root), bytes.fromhex(entry.leaf_hash),
                         entry.leaf_index, path, 2)
    report = verify_pdf(rt.verifier_context(), issued.pdf)
    assert report.indication is Indication.FAILED
    assert report.check("status").code == "REVOKED" and report.check("status").details["reason"] == 2


def test_unreachable_chain_node_is_indeterminate_never_failed(sqlite_runtime):
    rt = sqlite_runtime
    issued = _issue_and_anchor(rt)
    # Same registry address, but a node that is not there (nothing listens on port 9).
    dead = RegistryClient(connect("http://127.0.0.1:9", timeout=1), rt.registry.address)
    ctx = rt.verifier_context()
    report = verify_pdf(VerifierContext(ctx.engine, ctx.trust_roots, dead, ctx.confirmations, ctx.max_upload_bytes),
                        issued.pdf)
    assert report.indication is Indication.INDETERMINATE
    for name in ("office_binding", "anchor_inclusion", "status"):
        assert report.check(name).status is CheckStatus.ERROR
        assert report.check(name).code == "LEDGER_UNAVAILABLE"


def test_a_pdf_extended_after_signing_passes_only_with_validation_data(sqlite_runtime):
    """New page content in an incremental update fails, and so does an update that adds
    only an unrelated object; a DSS added later passes, found through its signed revision."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from asn1crypto.crl import CertificateList
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    rt = sqlite_runtime
    issued = _issue_and_anchor(rt)

    w = IncrementalPdfFileWriter(io.BytesIO(issued.pdf))
    page = w.root["/Pages"]["/Kids"][0].get_object()
    forged = w.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (FORGED) Tj ET"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), forged])
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    report = verify_pdf(rt.verifier_context(), out.getvalue())
    assert report.indication is Indication.FAILED
    integrity = report.check("document_integrity")
    assert integrity.code == "MODIFIED_AFTER_SIGNING"
    assert any("page 1 changed" in c["en"] for c in integrity.details["changes"])

    w = IncrementalPdfFileWriter(io.BytesIO(issued.pdf))
    w.add_object(generic.DictionaryObject({generic.NameObject("/Note"): generic.TextStringObject("archived")}))
    out = io.BytesIO()
    w.write(out)
    report = verify_pdf(rt.verifier_context(), out.getvalue())
    assert report.indication is Indication.FAILED
    assert report.check("document_integrity").code == "MODIFIED_AFTER_SIGNING"

    out = io.BytesIO(issued.pdf)
    DocumentSecurityStore.add_dss(out, sig_contents=None, certs=rt.trust_roots,
                                  crls=[CertificateList.load(c) for c in rt.crls()])
    extended = out.getvalue()
    report = verify_pdf(rt.verifier_context(), extended)
    assert report.indication is Indication.PASSED, report.check("document_integrity")
    assert report.document_sha256 != issued.document_sha256  # matched through the signed revision


def test_the_report_pdf_lists_what_changed_after_signing(sqlite_runtime):
    """The signed report a court files names the changes, not only the verdict."""
    import io

    import pypdfium2 as pdfium
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from verifier.report_pdf import render_report

    rt = sqlite_runtime
    issued = _issue_and_anchor(rt)
    w = IncrementalPdfFileWriter(io.BytesIO(issued.pdf))
    w.root["/OpenAction"] = generic.DictionaryObject({generic.NameObject("/S"): generic.NameObject("/JavaScript"),
                                                      generic.NameObject("/JS"): generic.TextStringObject("app.alert(1)")})
    w.update_root()
    out = io.BytesIO()
    w.write(out)
    report = verify_pdf(rt.verifier_context(), out.getvalue())
    assert report.indication is Indication.FAILED
    doc = pdfium.PdfDocument(render_report(report, rt.settings.cjk_font))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    text = "".join(text.split())
    assert "MODIFIED_AFTER_SIGNING" in text
    assert "".join("an action run on opening".split()) in text and "/OpenAction" in text
