"""The adversarial corpus (tests/forgeries.py) against the verifier: every forgery of a
genuine, anchored certificate is FAILED, through the library, the HTTP API and the CLI;
the corpus proves its attacks are real (the forged page looks different); and legitimate
long-term-validation updates made later with pyHanko still PASS.

One genuine certificate per signature level is issued and anchored once for the module."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from asn1crypto import crl as asn1_crl
import pytest
from PIL import ImageChops
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

from records.matters import EXAMPLES
from issuer.service import issue_certificate
from notary.runtime import Runtime, open_runtime
from tests import forgeries
from tests.conftest import make_settings
from tests.forgeries import FORGERIES, MODIFIED_AFTER_SIGNING, Forgery, ForgeryContext
from tests.pdf_tools import render_page
from verifier.errors import VerifierError
from verifier.report import CheckStatus, Indication, Report
from verifier.service import verify_pdf

LEVELS = ("B-T", "B-LTA")
NOTARY = Path(sys.executable).with_name("notary")


@dataclass
class Genuine:
    rt: Runtime
    pdf: bytes
    level: str


@dataclass
class Bench:
    genuine: dict[str, Genuine]
    ctx: ForgeryContext
    built: dict[tuple[str, str], bytes]
    anvil_url: str

    def forged(self, level: str, forgery: Forgery) -> bytes:
        """Each forgery is built once per level (and a builder that raises fails the test)."""
        key = (level, forgery.name)
        if key not in self.built:
            self.built[key] = forgery.build(self.genuine[level].pdf, self.ctx)
        return self.built[key]


@pytest.fixture(scope="module")
def bench(tmp_path_factory, anvil_url) -> Bench:
    opened: list[Runtime] = []
    genuine: dict[str, Genuine] = {}
    try:
        for level in LEVELS:
            data_dir = tmp_path_factory.mktemp(f"forgeries-{level}")
            rt = open_runtime(make_settings(data_dir, anvil_url, signature_level=level))
            opened.append(rt)
            issued = issue_certificate(rt.issuer_context(), "birth", EXAMPLES["birth"])
            rt.worker().run_once(force=True)
            genuine[level] = Genuine(rt, issued.pdf, level)
        ctx = forgeries.make_context(tsa=genuine["B-T"].rt.dev_tsa, office_name=genuine["B-T"].rt.office.name,
                                     name=EXAMPLES["birth"]["applicant_name"],
                                     replacement=EXAMPLES["birth"]["mother_name"][0])
        yield Bench(genuine, ctx, {}, anvil_url)
    finally:
        for rt in opened:
            rt.close()


def _describe(report: Report) -> str:
    return "; ".join(f"{c.name}={c.status.value}/{c.code}"
                     + (f" {c.details.get('changes')}" if c.details.get("changes") else "") for c in report.checks)


def _verify(rt: Runtime, pdf: bytes) -> Report:
    return verify_pdf(rt.verifier_context(), pdf)


# ------------------------------------------------------------------ the genuine baseline

@pytest.mark.parametrize("level", LEVELS)
def test_the_genuine_certificate_passes(bench, level):
    g = bench.genuine[level]
    report = _verify(g.rt, g.pdf)
    assert report.indication is Indication.PASSED, _describe(report)
    assert report.check("document_integrity").code == "SIGNATURE_INTACT"


def test_the_corpus_covers_the_published_attack_classes():
    assert len(FORGERIES) >= 30
    classes = Counter(f.attack_class for f in FORGERIES)
    for attack_class in (forgeries.USF, forgeries.ISA, forgeries.SWA, forgeries.SHADOW_HIDE, forgeries.SHADOW_REPLACE,
                         forgeries.SHADOW_HIDE_REPLACE, forgeries.EAA, forgeries.SSA, forgeries.META):
        assert classes[attack_class] >= 1, attack_class
    # Refusing instead of judging is the exception; each such entry is justified in the corpus.
    assert sum(f.may_refuse for f in FORGERIES) <= 3
    for f in FORGERIES:
        assert f.expected_codes, f.name
        assert f.expected_codes <= forgeries.ANY_INTEGRITY or f.check != forgeries.INTEGRITY, f.name


# ------------------------------------------------------------------ every forgery FAILS

@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
def test_the_forgery_is_failed(bench, forgery, level):
    g = bench.genuine[level]
    forged = bench.forged(level, forgery)
    try:
        report = _verify(g.rt, forged)
    except VerifierError as exc:
        refused = exc
    else:
        refused = None
    if refused is not None:
        if forgery.may_refuse:
            return
        pytest.fail(f"{forgery.name} ({forgery.attack_class}) was refused with {refused.code} ({refused.message}); "
                    f"it opens in a viewer, so it must be judged FAILED")
    assert report.indication is Indication.FAILED, f"{forgery.name}: {report.indication.value}: {_describe(report)}"
    check = report.check(forgery.check)
    assert check.status is CheckStatus.INVALID, _describe(report)
    assert check.code in forgery.expected_codes, f"{forgery.name}: {check.code} not in " \
        f"{sorted(forgery.expected_codes)}: {_describe(report)}"
    if check.code == MODIFIED_AFTER_SIGNING:
        changes = check.details.get("changes")
        assert changes and all(c.get("en") and c.get("zh") for c in changes), check.details


# ------------------------------------------------------------ the attacks are real

def _render_with_forms(pdf: bytes, dpi: int = 150):
    """Page 1 as a viewer with forms support draws it (widgets of form fields included)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        doc.init_forms()
        return doc[0].render(scale=dpi / 72, may_draw_forms=True).to_pil()
    finally:
        doc.close()


def _differs(a, b) -> bool:
    return ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is not None


@pytest.fixture(scope="module")
def genuine_image(bench):
    return render_page(bench.genuine["B-T"].pdf)


@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
def test_the_forgery_is_a_real_attack(bench, genuine_image, forgery):
    """Different bytes; the file opens in a viewer (pdfium) unless the corpus says it may be
    refused; and a visual attack changes what page 1 shows."""
    genuine = bench.genuine["B-T"].pdf
    forged = bench.forged("B-T", forgery)
    assert forged != genuine
    assert len(forged) > 0 and forged[:5] == b"%PDF-"
    if forgery.may_refuse:
        return
    image = render_page(forged)  # raises if pdfium cannot open it
    if not forgery.visual:
        return
    if forgery.forms:
        assert _differs(_render_with_forms(genuine), _render_with_forms(forged)), \
            f"{forgery.name}: the widget does not change page 1"
    else:
        assert _differs(genuine_image, image), f"{forgery.name}: page 1 looks the same as the genuine one"


def test_the_name_is_found_where_the_forgeries_aim(bench):
    """The helpers find the applicant's name on the page and in the content stream."""
    pdf = bench.genuine["B-T"].pdf
    x0, y0, x1, y1 = forgeries.name_box(pdf, bench.ctx.name)
    assert 0 < x0 < x1 < 600 and 0 < y0 < y1 < 850
    replaced = bench.forged("B-T", forgeries.BY_NAME["shadow_replace_text_same_object"])
    doc = pdfium.PdfDocument(replaced)
    try:
        text = doc[0].get_textpage().get_text_range()
    finally:
        doc.close()
    assert bench.ctx.replacement + bench.ctx.name[1:] in text


# ------------------------------------------------- legitimate later updates still pass

def _validation_context(rt: Runtime) -> ValidationContext:
    return ValidationContext(trust_roots=rt.trust_roots, crls=rt.crls(), allow_fetching=False,
                             revocation_mode="soft-fail")


def _refresh_dss(pdf: bytes, rt: Runtime) -> bytes:
    """A DSS update as an archive service makes it: the current CRL and the chain, tied to
    the certification signature's VRI entry."""
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    out = io.BytesIO(pdf)
    crls = [asn1_crl.CertificateList.load(der) for der in rt.crls()]
    DocumentSecurityStore.add_dss(out, sig.sig_object["/Contents"], certs=[rt.signer.certificate, *rt.trust_roots],
                                  crls=crls, strict=False)
    return out.getvalue()


def test_a_b_lta_certificate_renewed_with_dss_and_a_new_archive_timestamp_passes(bench):
    g = bench.genuine["B-LTA"]
    refreshed = _refresh_dss(g.pdf, g.rt)
    assert len(refreshed) > len(g.pdf) and refreshed.startswith(g.pdf)
    w = IncrementalPdfFileWriter(io.BytesIO(refreshed), strict=False)
    renewed = signers.PdfTimeStamper(g.rt.dev_tsa, field_name="NotaryArchiveTimestamp2").timestamp_pdf(
        w, "sha256", validation_context=_validation_context(g.rt)).getvalue()
    reader = PdfFileReader(io.BytesIO(renewed))
    assert [s.sig_object_type for s in reader.embedded_signatures] == ["/Sig", "/DocTimeStamp", "/DocTimeStamp"]
    assert reader.xrefs.total_revisions > PdfFileReader(io.BytesIO(g.pdf)).xrefs.total_revisions + 1
    report = _verify(g.rt, renewed)
    assert report.indication is Indication.PASSED, _describe(report)
    assert report.check("document_integrity").code == "SIGNATURE_INTACT"


def test_a_b_lta_archive_timestamp_chain_update_passes(bench):
    """pyHanko's own archive renewal: validate the last timestamp, add its validation data,
    add a new document timestamp."""
    g = bench.genuine["B-LTA"]
    renewed = signers.PdfTimeStamper(g.rt.dev_tsa).update_archival_timestamp_chain(
        PdfFileReader(io.BytesIO(g.pdf)), _validation_context(g.rt), in_place=False).getvalue()
    assert renewed.startswith(g.pdf) and len(renewed) > len(g.pdf)
    report = _verify(g.rt, renewed)
    assert report.indication is Indication.PASSED, _describe(report)


def test_a_b_t_certificate_with_a_dss_added_later_passes(bench):
    g = bench.genuine["B-T"]
    extended = _refresh_dss(g.pdf, g.rt)
    assert len(extended) > len(g.pdf) and extended.startswith(g.pdf)
    assert DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(extended))).crls
    report = _verify(g.rt, extended)
    assert report.indication is Indication.PASSED, _describe(report)


def test_a_forgery_behind_a_legitimate_renewal_still_fails(bench):
    """LTV updates appended after a forged revision do not launder it."""
    g = bench.genuine["B-LTA"]
    forged = bench.forged("B-LTA", forgeries.BY_NAME["eaa_freetext"])
    w = IncrementalPdfFileWriter(io.BytesIO(_refresh_dss(forged, g.rt)), strict=False)
    laundered = signers.PdfTimeStamper(g.rt.dev_tsa, field_name="Later").timestamp_pdf(w, "sha256").getvalue()
    report = _verify(g.rt, laundered)
    assert report.indication is Indication.FAILED, _describe(report)
    assert report.check("document_integrity").code == MODIFIED_AFTER_SIGNING


# ------------------------------------------------------------- the same via API and CLI

API_VARIANTS = ("isa_content_stream_added", "eaa_freetext", "ssa_second_signature_self_signed",
                "swa_gap_insert_sigdict_redefined", "usf_byterange_null", "meta_signature_field_deleted")


@pytest.fixture(scope="module")
def client(bench):
    from fastapi.testclient import TestClient

    from notary.app import create_app

    with TestClient(create_app(bench.genuine["B-T"].rt), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("name", API_VARIANTS)
def test_the_api_fails_the_forgery(bench, client, name):
    forged = bench.forged("B-T", forgeries.BY_NAME[name])
    r = client.post("/api/v1/verify", files={"file": ("certificate.pdf", forged, "application/pdf")})
    assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:300]}"
    body = r.json()
    assert body["indication"] == "FAILED", body
    integrity = next(c for c in body["checks"] if c["name"] == "document_integrity")
    assert integrity["status"] == "INVALID" and integrity["code"] in forgeries.BY_NAME[name].expected_codes


def test_the_cli_exits_1_for_a_forgery(bench, tmp_path):
    g = bench.genuine["B-T"]
    path = tmp_path / "forged.pdf"
    path.write_bytes(bench.forged("B-T", forgeries.BY_NAME["eaa_freetext"]))
    env = {**os.environ, "NOTARY_DATA_DIR": str(g.rt.settings.data_dir), "NOTARY_RPC_URL": bench.anvil_url,
           "NOTARY_KEY_PASSPHRASE": "test-passphrase"}
    out = subprocess.run([str(NOTARY), "verify", str(path), "--json"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["indication"] == "FAILED"
    integrity = next(c for c in report["checks"] if c["name"] == "document_integrity")
    assert integrity["code"] == MODIFIED_AFTER_SIGNING and integrity["details"]["changes"]
