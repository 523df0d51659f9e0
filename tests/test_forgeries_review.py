"""A review of the hardened verifier (verifier/revisions.py): more forgeries of a genuine,
anchored certificate, aimed at the allowlist audit of the revisions after the office's
certification signature and at the places where pyHanko (which both judges use to read
the file) and a real viewer (pdfium) read the same bytes differently.

Every variant must be judged FAILED. A variant that is ``visual`` changes what pdfium
draws on page 1 (the test renders it, forms initialised, next to the genuine page): it
is a working forgery in Chrome's viewer, not a broken file. The others change metadata
that viewers show in their document properties, or target readers that scan the file
for objects; each says which.

The module also keeps legitimate long-term-validation updates that the audit must let
through (a second archive renewal, pyHanko's ``add_validation_info``, an archive
timestamp written with a cross-reference stream) and a timing bound on the audit.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from asn1crypto import crl as asn1_crl
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import add_validation_info
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

from tests import forgeries as F
from tests.forgeries import MODIFIED_AFTER_SIGNING, ForgeryContext
from tests.test_forgeries import _describe, _differs, _render_with_forms, _verify, bench  # noqa: F401 (fixture)
from verifier.errors import VerifierError
from verifier.report import CheckStatus, Indication

LEVELS = ("B-T", "B-LTA")


# ------------------------------------------------------------------------------ helpers

def _ref(num: int, gen: int = 0) -> generic.IndirectObject:
    return generic.IndirectObject(num, gen, None)


def _cert(pdf: bytes) -> bytes:
    """A DER certificate the signature carries: believable DSS content."""
    sig = F._reader(pdf).embedded_signatures[0]
    return sig.signed_data["certificates"][0].chosen.dump()


def _dss_objects(pdf: bytes, cert_refs: list[generic.IndirectObject], free: int) -> dict[int, bytes]:
    """Objects (number -> body) that add ``cert_refs`` to the DSS /Certs: the existing DSS
    rewritten in place (B-LTA), or a new DSS numbered ``free`` and the catalog (B-T)."""
    r = F._reader(pdf)
    if "/DSS" in r.root:
        dss_ref = r.root.raw_get("/DSS")
        dss = generic.DictionaryObject(dss_ref.get_object())
        old = dss.raw_get("/Certs") if "/Certs" in dss else generic.ArrayObject()
        dss[pdf_name("/Certs")] = generic.ArrayObject([old.raw_get(i) for i in range(len(old))] + cert_refs)
        return {dss_ref.idnum: F._serialise(dss)}
    catalog = generic.DictionaryObject({k: r.root.raw_get(k) for k in r.root.keys()})
    catalog[pdf_name("/DSS")] = _ref(free)
    dss = generic.DictionaryObject({pdf_name("/Type"): pdf_name("/DSS"),
                                    pdf_name("/Certs"): generic.ArrayObject(cert_refs)})
    return {r.trailer.raw_get("/Root").idnum: F._serialise(catalog), free: F._serialise(dss)}


def _finish(out: bytearray, table: bytes, base: F._Base, size: int) -> bytes:
    at = len(out)
    out += table + base.trailer(size) + b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


# ------------------------------------------------------- cross-reference differentials

def _xref_unknown_marker(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A DSS update (one certificate stream) whose xref table has one more entry: the
    content stream that draws the name, with the marker ``x`` instead of ``n``, pointing
    at a forged definition of it placed *inside the certificate stream's data*.

    pyHanko skips an entry whose marker is neither ``n`` nor ``f`` (non-strict parsing),
    so to both judges the revision is a DSS update; pdfium treats every entry that is not
    ``f`` as in use and draws the forged stream. The audit's scan for unlisted objects
    does not look inside the data of listed streams, where the forged object sits."""
    base = F._Base.of(pdf)
    num, body = F._forged_content_object(pdf, ctx)
    smuggled = b"\n%d 0 obj\n" % num + body + b"\nendobj\n"
    cert = base.size
    objects = {cert: F._raw_stream(_cert(pdf) + smuggled), **_dss_objects(pdf, [_ref(cert)], cert + 1)}
    out, offsets = F._append_objects(pdf, objects)
    at = out.index(smuggled, offsets[cert]) + 1
    table = F._xref_table(offsets) + b"%d 1\n%010d 00000 x \n" % (num, at)
    return _finish(out, table, base, cert + 2)


def _generation_bump_as_dss_data(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The content stream that draws the name redefined as generation 1 (``N 1 obj``,
    listed ``N 1 n``) and put in the DSS as a "certificate" (``/Certs [... N 1 R]``).

    The audit asks whether (N, 1) existed before; it did not (N 0 did), so it counts as
    new validation data; pyHanko's difference analysis agrees. pdfium ignores generation
    numbers: the page's ``N 0 R`` now resolves to the forged stream."""
    base = F._Base.of(pdf)
    num, body = F._forged_content_object(pdf, ctx)
    objects = _dss_objects(pdf, [_ref(num, 1)], base.size)
    out, offsets = F._append_objects(pdf, objects)
    at = len(out)
    out += b"%d 1 obj\n" % num + body + b"\nendobj\n"
    table = F._xref_table(offsets) + b"%d 1\n%010d 00001 n \n" % (num, at)
    return _finish(out, table, base, max(base.size + 1, max(objects) + 1))


def _rebuild(header: bytes, eol: bytes):
    """A DSS update followed by a forged definition of the content stream that no table
    lists, its header written so that the audit's regular expression for ``N G obj`` does
    not see it (``header``: a comment between the generation and ``obj``, or leading
    zeros beyond ten digits). With ``eol`` other than the two-byte one, the table's
    entries are 19 or 21 bytes long: pyHanko re-synchronises line by line, pdfium reads
    fixed 20-byte entries, fails, rebuilds the table by scanning, and the last (forged)
    definition wins."""

    def build(pdf: bytes, ctx: ForgeryContext) -> bytes:
        base = F._Base.of(pdf)
        num, body = F._forged_content_object(pdf, ctx)
        cert = base.size
        objects = {cert: F._raw_stream(_cert(pdf)), **_dss_objects(pdf, [_ref(cert)], cert + 1)}
        out, offsets = F._append_objects(pdf, objects)
        out += header % num + b"\n" + body + b"\nendobj\n"
        table = F._xref_table(offsets).replace(b" n \n", b" n" + eol).replace(b" f \n", b" f" + eol)
        return _finish(out, table, base, cert + 2)

    return build


def _unused_object_stream(eol: bytes):
    """A DSS update with two more objects: the forged page content as a DSS "certificate"
    stream, and a stream marked ``/Type /ObjStm`` that no xref entry uses, holding a copy
    of page 1 whose /Contents is that certificate stream. The audit skips every new
    ``/Type /ObjStm`` stream ("a container for other objects, each judged on its own"),
    but nothing in this one is listed, so nothing in it is judged. A reader that rebuilds
    the table registers every object of every object stream it finds: with 19-byte
    entries (``eol`` ``\\n``) pdfium rebuilds and shows the forged page. No object header
    is hidden from the audit's regular expression here."""

    def build(pdf: bytes, ctx: ForgeryContext) -> bytes:
        base = F._Base.of(pdf)
        r = F._reader(pdf)
        page_ref = r.root["/Pages"]["/Kids"].raw_get(0)
        page = page_ref.get_object()
        _, data = F._name_replaced_stream(r, ctx)
        content, objstm = base.size, base.size + 1
        new_page = generic.DictionaryObject({k: page.raw_get(k) for k in page.keys()})
        new_page[pdf_name("/Contents")] = _ref(content)
        head = b"%d 0 " % page_ref.idnum
        objects = {content: F._raw_stream(data),
                   objstm: F._raw_stream(head + F._serialise(new_page), b"/Type /ObjStm /N 1 /First %d " % len(head)),
                   **_dss_objects(pdf, [_ref(content)], objstm + 1)}
        out, offsets = F._append_objects(pdf, objects)
        table = F._xref_table(offsets).replace(b" n \n", b" n" + eol).replace(b" f \n", b" f" + eol)
        return _finish(out, table, base, objstm + 2)

    return build


def _annots_array_over_content(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """Page 1's /Annots made indirect, pointing at the *content stream's* object number,
    which is rewritten as the very same annotation array. The audit explains an indirect
    /Annots array without asking what the object was before (``_ref_list``); pdfium now
    finds an array of annotation dictionaries as the page content and draws nothing."""
    r = F._reader(pdf)
    page_ref = r.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    target = page.raw_get("/Contents").idnum
    new_page = generic.DictionaryObject({k: page.raw_get(k) for k in page.keys()})
    new_page[pdf_name("/Annots")] = _ref(target)
    return F._raw_revision(pdf, {page_ref.idnum: F._serialise(new_page), target: F._serialise(page.raw_get("/Annots"))})


def _free_entry_generation_zero(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A DSS update whose table also frees the content stream with next generation 0
    (pyHanko does not count that as a deletion)."""
    base = F._Base.of(pdf)
    num, _ = F._forged_content_object(pdf, ctx)
    cert = base.size
    objects = {cert: F._raw_stream(_cert(pdf)), **_dss_objects(pdf, [_ref(cert)], cert + 1)}
    out, offsets = F._append_objects(pdf, objects)
    return _finish(out, F._xref_table(offsets) + b"%d 1\n0000000000 00000 f \n" % num, base, cert + 2)


def _dss_holding(key: str, body: bytes, *, stream: bool):
    """A DSS update whose ``key`` array holds one entry that is not what it claims: a
    stream whose data is a DER SEQUENCE that is no CRL / OCSP response, or a non-stream.
    The audit reports the latter, but the verifier builds its validation context from the
    DSS (checks._validation_context) before it judges integrity, and pyHanko raises an
    AttributeError / ValueError there that nothing catches: an exception instead of a
    report (a 422 "could not be read" from the sandbox, a traceback in the CLI)."""

    def build(pdf: bytes, ctx: ForgeryContext) -> bytes:
        base = F._Base.of(pdf)
        r = F._reader(pdf)
        entry = base.size
        objects: dict[int, bytes] = {entry: F._raw_stream(body) if stream else body}
        if "/DSS" in r.root:
            dss_ref = r.root.raw_get("/DSS")
            dss = generic.DictionaryObject(dss_ref.get_object())
            dss[pdf_name(key)] = generic.ArrayObject([_ref(entry)])
            objects[dss_ref.idnum] = F._serialise(dss)
        else:
            catalog = generic.DictionaryObject({k: r.root.raw_get(k) for k in r.root.keys()})
            catalog[pdf_name("/DSS")] = _ref(entry + 1)
            objects[r.trailer.raw_get("/Root").idnum] = F._serialise(catalog)
            objects[entry + 1] = b"<< /Type /DSS %s [%d 0 R] >>" % (key.encode(), entry)
        out, offsets = F._append_objects(pdf, objects)
        return _finish(out, F._xref_table(offsets), base, entry + 2)

    return build


# ----------------------------------------------------------------------- metadata

def _xmp_revision(pdf: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    r = F._reader(pdf)
    ref = r.root.raw_get("/Metadata")
    xml = r.root["/Metadata"].data
    new = edit(xml)
    if new == xml:
        raise LookupError("unexpected XMP layout")
    return F._raw_revision(pdf, {ref.idnum: F._raw_stream(new, b"/Type /Metadata /Subtype /XML ")})


def _xmp_title_and_description_swapped(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """dc:title and dc:description swap their values. The audit compares XMP as a *set*
    of (element, text) pairs: containers without text of their own (dc:title) are not in
    it, and every rdf:li is just "rdf:li", so values move between properties unseen."""
    swap = {b"title": b"description", b"description": b"title"}

    def edit(xml: bytes) -> bytes:
        return re.sub(rb"(</?dc:)(title|description)\b", lambda m: m.group(1) + swap[m.group(2)], xml)
    return _xmp_revision(pdf, edit)


def _xmp_tail_text(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """Text after an element's end tag (ElementTree's ``tail``) is never compared."""
    return _xmp_revision(pdf, lambda xml: xml.replace(
        b"</rdf:Alt></dc:title>", f"</rdf:Alt>{ctx.forged_text}</dc:title>".encode(), 1))


def _xmp_volatile_text(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """Free text in the "volatile" properties, which are skipped by local name in any
    namespace (here xmp:ModifyDate and a dc:Producer)."""
    text = f"更正：申请人 {ctx.replacement}{ctx.name[1:]}"
    return _xmp_revision(pdf, lambda xml: xml.replace(
        b"</rdf:Description>", f"<dc:Producer>{text}</dc:Producer><xmp:ModifyDate>{text}</xmp:ModifyDate>"
                               "</rdf:Description>".encode(), 1))


def _info_producer_text(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """/Info /Producer and /ModDate (allowed to change) rewritten as free text: pdfium's
    document properties (FPDF_GetMetaText) show it."""
    r = F._reader(pdf)
    info_ref = r.trailer.raw_get("/Info")
    info = generic.DictionaryObject(info_ref.get_object())
    info[pdf_name("/Producer")] = pdf_string(f"更正版：申请人姓名更正为 {ctx.replacement}{ctx.name[1:]}")
    info[pdf_name("/ModDate")] = pdf_string(ctx.forged_text)
    return F._raw_revision(pdf, {info_ref.idnum: F._serialise(info)})


def _catalog_version_and_extensions(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """/Version downgraded and /Extensions carrying an arbitrary entry: both keys are on
    the audit's allowlist with any value."""
    r = F._reader(pdf)
    catalog = generic.DictionaryObject({k: r.root.raw_get(k) for k in r.root.keys()})
    catalog[pdf_name("/Version")] = pdf_name("/1.0")
    catalog[pdf_name("/Extensions")] = generic.DictionaryObject({pdf_name("/FORGED"): pdf_string(ctx.forged_text)})
    return F._raw_revision(pdf, {r.trailer.raw_get("/Root").idnum: F._serialise(catalog)})


def _timestamp_widget_with_mk_and_da(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A genuine, invisible document timestamp whose widget also carries /MK, /DA and an
    /AP (appearance characteristics a viewer may use to draw a zero-area field)."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    fields.append_signature_field(w, fields.SigFieldSpec("Archive"))
    for ref in w.root["/AcroForm"]["/Fields"]:
        fld = ref.get_object()
        if fld.get("/T") == "Archive":
            fld[pdf_name("/MK")] = generic.DictionaryObject({pdf_name("/BG"): generic.ArrayObject(
                [generic.FloatObject(1)] * 3), pdf_name("/CA"): pdf_string(ctx.forged_text)})
            fld[pdf_name("/DA")] = pdf_string("/Helv 12 Tf 0 g")
            w.mark_update(ref)
    return signers.PdfTimeStamper(ctx.tsa, field_name="Archive").timestamp_pdf(w, "sha256").getvalue()


# ------------------------------------------------------------------------------ corpus

@dataclass(frozen=True)
class Attack:
    name: str
    build: Callable[[bytes, ForgeryContext], bytes]
    visual: bool = False  # pdfium (forms initialised) draws page 1 differently


ATTACKS = [
    Attack("xref_unknown_marker_into_dss_stream", _xref_unknown_marker, visual=True),
    Attack("generation_bump_as_dss_certificate", _generation_bump_as_dss_data, visual=True),
    Attack("rebuild_21_byte_entries_comment_in_header", _rebuild(b"%d 0%%c\nobj", b" \r\n"), visual=True),
    Attack("rebuild_19_byte_entries_zero_padded_header", _rebuild(b"00000000000%d 0 obj", b"\n"), visual=True),
    # Like the corpus's isa_smuggled_object_in_dss_update (a reader that scans for objects
    # sees the forged stream), with the header hidden from the audit's regular expression.
    Attack("smuggled_object_comment_in_header", _rebuild(b"%d 0%%c\nobj", b" \n")),
    Attack("smuggled_object_zero_padded_header", _rebuild(b"00000000000%d 0 obj", b" \n")),
    Attack("rebuild_19_byte_entries_unused_object_stream", _unused_object_stream(b"\n"), visual=True),
    Attack("unused_object_stream_holds_a_page", _unused_object_stream(b" \n")),
    # Stopped today by pyHanko's own difference analysis only (the audit misses it).
    Attack("annots_array_over_content_stream", _annots_array_over_content, visual=True),
    Attack("free_entry_generation_zero", _free_entry_generation_zero),
    # Exceptions instead of a report.
    Attack("dss_crl_that_is_no_crl", _dss_holding("/CRLs", b"\x30\x03\x02\x01\x05", stream=True)),
    Attack("dss_ocsp_that_is_no_ocsp_response", _dss_holding("/OCSPs", b"\x30\x03\x02\x01\x05", stream=True)),
    Attack("dss_certs_entry_not_a_stream", _dss_holding("/Certs", b"[ 5 ]", stream=False)),
    Attack("xmp_title_and_description_swapped", _xmp_title_and_description_swapped),
    Attack("xmp_tail_text", _xmp_tail_text),
    Attack("xmp_volatile_property_text", _xmp_volatile_text),
    Attack("info_producer_and_moddate_text", _info_producer_text),
    Attack("catalog_version_and_extensions", _catalog_version_and_extensions),
    Attack("timestamp_widget_with_mk_and_da", _timestamp_widget_with_mk_and_da),
]
BY_NAME = {a.name: a for a in ATTACKS}


@pytest.fixture(scope="module")
def built(bench):
    cache: dict[tuple[str, str], bytes] = {}

    def get(level: str, attack: Attack) -> bytes:
        if (level, attack.name) not in cache:
            cache[(level, attack.name)] = attack.build(bench.genuine[level].pdf, bench.ctx)
        return cache[(level, attack.name)]

    return get


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_the_review_forgery_is_failed(bench, built, attack, level):
    report = _verify(bench.genuine[level].rt, built(level, attack))
    assert report.indication is Indication.FAILED, f"{attack.name}: {report.indication.value}: {_describe(report)}"
    integrity = report.check("document_integrity")
    assert integrity.status is CheckStatus.INVALID, _describe(report)
    if integrity.code == MODIFIED_AFTER_SIGNING:
        assert all(c.get("en") and c.get("zh") for c in integrity.details["changes"]), integrity.details


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.visual], ids=lambda a: a.name)
def test_the_review_forgery_is_a_real_attack(bench, built, attack):
    genuine = bench.genuine["B-T"].pdf
    assert _differs(_render_with_forms(genuine), _render_with_forms(built("B-T", attack))), \
        f"{attack.name}: pdfium draws page 1 as the genuine one"


def test_pdfium_shows_the_forged_producer(bench, built):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(built("B-T", BY_NAME["info_producer_and_moddate_text"]))
    try:
        assert "更正" in doc.get_metadata_dict()["Producer"]
    finally:
        doc.close()


@pytest.fixture(scope="module")
def client(bench):
    from fastapi.testclient import TestClient

    from notary.app import create_app

    with TestClient(create_app(bench.genuine["B-T"].rt), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("name", ["dss_crl_that_is_no_crl", "dss_certs_entry_not_a_stream"])
def test_the_api_judges_a_broken_dss_failed(bench, built, client, name):
    forged = built("B-T", BY_NAME[name])
    r = client.post("/api/v1/verify", files={"file": ("certificate.pdf", forged, "application/pdf")})
    assert r.status_code == 200, f"{name}: {r.status_code} {r.text[:300]}"
    assert r.json()["indication"] == "FAILED", r.json()


# ------------------------------------------------------------------------------ timing

def _many_dss_streams(pdf: bytes, streams: int, filler_bytes: int) -> bytes:
    """A pure DSS update: ``streams`` tiny certificate streams, then one large stream full
    of ``1 0 obj`` (every match of the audit's object-header scan is looked up against
    every stream span, one by one)."""
    base = F._Base.of(pdf)
    first = base.size
    refs = [_ref(first + i) for i in range(streams + 1)]
    objects = {first + i: F._raw_stream(b"x") for i in range(streams)}
    objects[first + streams] = F._raw_stream(b"1 0 obj " * (filler_bytes // 8))
    objects.update(_dss_objects(pdf, refs, first + streams + 1))
    out, offsets = F._append_objects(pdf, objects)
    return _finish(out, F._xref_table(offsets), base, first + streams + 2)


def test_a_large_dss_update_is_judged(bench):
    """1,000 streams and 1 MB of filler (a 20 MB upload allows 20 times each): judged, and
    never PASSED. Its cost is measured, not asserted (the audit's stream lookup is a binary
    search; it was a linear scan, about 6 s for this file)."""
    g = bench.genuine["B-T"]
    data = _many_dss_streams(g.pdf, 1000, 1024 * 1024)
    assert _verify(g.rt, data).indication is not Indication.PASSED


def _empty_revisions(pdf: bytes, count: int) -> bytes:
    """``count`` incremental updates that change nothing (an xref section with only the
    free-list head, a trailer): about 230 bytes each, and not objects, so MAX_OBJECTS
    does not bound them."""
    base = F._Base.of(pdf)
    out, prev = bytearray(pdf), base.prev
    for _ in range(count):
        at = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n" + base.trailer(base.size, prev=prev)
        out += b"startxref\n%d\n%%%%EOF\n" % at
        prev = at
    return bytes(out)


def test_many_empty_revisions_are_refused_as_too_complex(bench):
    """800 empty updates (190 kB): revision-by-revision analysis is quadratic (pyHanko's
    and the audit's), so a file with more revisions than any certificate gains is refused
    with a work limit before it is analysed."""
    g = bench.genuine["B-T"]
    data = _empty_revisions(g.pdf, 800)
    with pytest.raises(VerifierError) as refused:
        _verify(g.rt, data)
    assert refused.value.code == "PDF_TOO_COMPLEX"


# ------------------------------------------------- legitimate updates must still pass

def _vc(rt) -> ValidationContext:
    return ValidationContext(trust_roots=rt.trust_roots, crls=rt.crls(), allow_fetching=False,
                             revocation_mode="soft-fail")


def test_a_second_archive_renewal_passes(bench):
    g = bench.genuine["B-LTA"]
    pdf = g.pdf
    for _ in range(2):
        pdf = signers.PdfTimeStamper(g.rt.dev_tsa).update_archival_timestamp_chain(
            PdfFileReader(io.BytesIO(pdf)), _vc(g.rt), in_place=False).getvalue()
    report = _verify(g.rt, pdf)
    assert report.indication is Indication.PASSED, _describe(report)


def test_add_validation_info_passes(bench):
    g = bench.genuine["B-T"]
    sig = PdfFileReader(io.BytesIO(g.pdf)).embedded_signatures[0]
    extended = add_validation_info(sig, _vc(g.rt), output=io.BytesIO()).getvalue()
    assert extended.startswith(g.pdf) and len(extended) > len(g.pdf)
    report = _verify(g.rt, extended)
    assert report.indication is Indication.PASSED, _describe(report)


def test_an_archive_timestamp_written_with_an_xref_stream_passes(bench):
    g = bench.genuine["B-T"]
    w = IncrementalPdfFileWriter(io.BytesIO(g.pdf), strict=False)
    w.stream_xrefs = True
    stamped = signers.PdfTimeStamper(g.rt.dev_tsa).timestamp_pdf(w, "sha256", validation_context=_vc(g.rt)).getvalue()
    assert b"/XRef" in stamped[len(g.pdf):]
    report = _verify(g.rt, stamped)
    assert report.indication is Indication.PASSED, _describe(report)


def test_a_dss_with_crls_added_twice_passes(bench):
    g = bench.genuine["B-LTA"]
    pdf = g.pdf
    for _ in range(2):
        sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
        out = io.BytesIO(pdf)
        DocumentSecurityStore.add_dss(out, sig.sig_object["/Contents"], certs=[g.rt.signer.certificate],
                                      crls=[asn1_crl.CertificateList.load(d) for d in g.rt.crls()], strict=False)
        pdf = out.getvalue()
    report = _verify(g.rt, pdf)
    assert report.indication is Indication.PASSED, _describe(report)
