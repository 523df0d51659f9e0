"""What changed in a PDF after its certification signature, judged by an allowlist.

A certified notarial certificate may only grow by long-term-validation updates (ETSI EN
319 142-1, PAdES B-LTA): a document security store (DSS, with its certificates, CRLs,
OCSP responses and VRI entries) and invisible document timestamps. Every object that a
later revision adds or rewrites must be explained as one of those; anything else — page
content, annotations, form fields, a second signature, catalog entries such as
/OpenAction or /OCProperties, document information or XMP metadata — is reported as a
:class:`Change` with a description a court clerk can read.

This runs beside pyHanko's own difference analysis (which the verifier also requires to
say "LTA updates at most"); two independent judges make a parser slip much less likely
to let a forgery through. Published attacks this answers: the Incremental Saving Attack
(Mladenov et al., CCS 2019), the shadow attacks (Mainka et al., NDSS 2021) and the Evil
Annotation / Sneaky Signature attacks (Rohlmann et al., IEEE S&P 2021).
"""

from __future__ import annotations

import bisect
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from asn1crypto import cms as _cms, crl as _crl, ocsp as _ocsp, x509 as _x509

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

DSS_CONTENT = {"/Certs": _x509.Certificate, "/Cert": _x509.Certificate, "/CRLs": _crl.CertificateList,
               "/CRL": _crl.CertificateList, "/OCSPs": _ocsp.OCSPResponse, "/OCSP": _ocsp.OCSPResponse,
               "/TS": _cms.ContentInfo}

# Entries a long-term-validation update may touch, per kind of object.
CATALOG_MAY_CHANGE = frozenset({"/DSS", "/Extensions", "/Version"})
INFO_MAY_CHANGE = frozenset({"/ModDate", "/Producer"})
DSS_KEYS = frozenset({"/Type", "/Certs", "/CRLs", "/OCSPs", "/VRI"})
VRI_KEYS = frozenset({"/Type", "/Cert", "/CRL", "/OCSP", "/TU", "/TS"})
TIMESTAMP_WIDGET_KEYS = frozenset({"/FT", "/T", "/TU", "/TM", "/Type", "/Subtype", "/F", "/Rect", "/P", "/V", "/Ff"})
TIMESTAMP_SIG_KEYS = frozenset({"/Type", "/Filter", "/SubFilter", "/Contents", "/ByteRange", "/Prop_Build", "/M", "/V"})
_XMP, _PDF, _MM = "http://ns.adobe.com/xap/1.0/", "http://ns.adobe.com/pdf/1.3/", "http://ns.adobe.com/xap/1.0/mm/"
_ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?")
_TOOL = re.compile(r"pyHanko \d+(\.\d+)*")
XMP_VOLATILE_FORMS = {f"{{{_XMP}}}ModifyDate": _ISO_DATE, f"{{{_XMP}}}MetadataDate": _ISO_DATE,
                      f"{{{_PDF}}}Producer": _TOOL, "{adobe:ns:meta/}xmptk": _TOOL,
                      f"{{{_MM}}}InstanceID": re.compile(r"uuid:[0-9a-fA-F-]{36}")}
PDF_DATE = re.compile(r"D:\d{4}(\d{2}){0,5}(Z|[+-]\d{2}'?\d{2}'?)?")
# A certificate gains a DSS and an archive timestamp every few years.
MAX_LATER_REVISIONS = 64
# After the last %%EOF only line ends and padding may follow.
TRAILING_JUNK = re.compile(rb"startxref\s+\d+\s+%%EOF[\r\n\t \x00]*\Z")


@dataclass(frozen=True)
class Change:
    """One change after signing, described in both languages."""

    revision: int
    en: str
    zh: str

    def as_dict(self) -> dict:
        return {"revision": self.revision, "en": self.en, "zh": self.zh}


class _Audit:
    def __init__(self, reader: PdfFileReader, revision: int):
        self.reader = reader
        self.revision = revision
        self.old: HistoricalResolver = reader.get_historical_resolver(revision - 1)
        self.new: HistoricalResolver = reader.get_historical_resolver(revision)
        self.changes: list[Change] = []
        self.explained: set[tuple[int, int]] = set()
        self.timestamp_fields: set[tuple[int, int]] = set()
        xrefs = reader.xrefs
        # Every object number an earlier revision defined, freed or could refer to (below
        # the largest /Size so far). pdfium ignores generation numbers, and pyHanko only
        # ever numbers new objects from /Size upwards.
        self.prior_size = max(xrefs.get_xref_container_info(r).size for r in range(revision))
        self.prior_numbers: set[int] = set()
        for r in range(revision):
            self.prior_numbers |= {ref.idnum for ref in xrefs.explicit_refs_in_revision(r)}

    def change(self, en: str, zh: str) -> None:
        self.changes.append(Change(self.revision, en, zh))

    def old_has(self, ref: generic.Reference) -> bool:
        """Could the signed document (or an earlier update) refer to this object number?
        By number only: a reader that ignores generations resolves ``N 0 R`` to ``N 1``."""
        return ref.idnum in self.prior_numbers or ref.idnum < self.prior_size


def audit_later_revisions(reader: PdfFileReader, data: bytes, signed_revision: int) -> list[Change]:
    """Every change made after ``signed_revision`` that is not a long-term-validation
    update. An empty list means the file is the signed document plus LTV data only."""
    changes: list[Change] = []
    if TRAILING_JUNK.search(data[-4096:]) is None:
        changes.append(Change(reader.xrefs.total_revisions, "bytes were appended after the end of the document",
                              "文件末尾被追加了不属于任何修订版本的数据"))
    if reader.xrefs.total_revisions - signed_revision > MAX_LATER_REVISIONS:
        return changes + [Change(-1, f"more than {MAX_LATER_REVISIONS} updates after signing",
                                 f"签署后的修订超过 {MAX_LATER_REVISIONS} 次")]
    for revision in range(signed_revision + 1, reader.xrefs.total_revisions):
        try:
            changes += _audit_revision(reader, revision)
        except (PdfError, KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            changes.append(Change(revision, f"an update that cannot be read ({type(exc).__name__})",
                                  "追加的修订内容无法解析"))
    try:
        changes += _unlisted_objects(reader, data, signed_revision)
    except (PdfError, KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        changes.append(Change(-1, f"the updates after signing cannot be read ({type(exc).__name__})",
                              "签署后追加的内容无法解析"))
    return changes


# Whitespace or comments, as a PDF tokenizer skips them (possessive: no backtracking).
_GAP = rb"(?:[ \t\r\n\f\x00]|%[^\r\n]*+)++"
OBJECT_HEADER = re.compile(rb"(?<![0-9])(\d++)" + _GAP + rb"(\d++)" + _GAP + rb"obj(?![A-Za-z0-9])")
XREF_SUBSECTION = re.compile(rb"(\d+) (\d+)[ \t]*(?:\r\n|\r|\n)")
XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: \r| \n|\r\n)")
XREF_KEYWORD = re.compile(rb"(?<![A-Za-z])xref[ \t\r\n\f]")


def _unlisted_objects(reader: PdfFileReader, data: bytes, signed_revision: int) -> list[Change]:
    """Objects and cross-reference sections after the signed revision that no
    cross-reference table lists. pyHanko reads a file through its tables (and quietly
    corrects a slightly wrong startxref); a viewer that finds a table broken rebuilds it by
    scanning for ``N G obj``, and then sees objects smuggled in between. Whatever is in
    the file must be what the tables say, so both readings agree."""
    xrefs = reader.xrefs
    changes: list[Change] = []
    region_start = xrefs.get_xref_container_info(signed_revision).end_location
    listed: set[int] = set()
    xref_starts: set[int] = set()
    spans: list[tuple[int, int]] = []
    for revision in range(signed_revision + 1, xrefs.total_revisions):
        meta = xrefs.get_xref_container_info(revision)
        declared = meta.declared_startxref
        points_at_xref = (data.startswith(b"xref", declared) if meta.stream_ref is None
                          else OBJECT_HEADER.match(data, declared) is not None)
        if not points_at_xref:
            changes.append(Change(revision, "the update's cross-reference position is wrong (readers disagree on "
                                  "what the file contains)", "追加内容的交叉引用位置错误（不同阅读器会读出不同内容）"))
        xref_starts.add(declared)
        if meta.stream_ref is None or meta.xref_section_type.name == "HYBRID_MAIN":
            if not _table_as_pyhanko_read_it(data, declared, xrefs.get_xref_data(revision)):
                changes.append(Change(revision, "the update's cross-reference table is malformed (readers disagree on "
                                      "what it lists)", "追加内容的交叉引用表格式不规范（不同阅读器会读出不同内容）"))
        if revision > signed_revision and meta.size < xrefs.get_xref_container_info(revision - 1).size:
            changes.append(Change(revision, "the update's cross-reference size shrank", "交叉引用表的大小被缩小"))
        refs = set(xrefs.explicit_refs_in_revision(revision))
        if meta.stream_ref is not None:
            refs.add(meta.stream_ref)
        resolver = reader.get_historical_resolver(revision)
        for ref in refs:
            where = xrefs.get_historical_ref(ref, revision)
            if not isinstance(where, int):
                continue  # inside an object stream, whose own span covers it
            listed.add(where)
            obj = resolver.get_object(ref)
            if isinstance(obj, generic.StreamObject):
                keyword = data.find(b"stream", where)
                if keyword >= 0:
                    begin = keyword + 6 + (2 if data.startswith(b"\r\n", keyword + 6) else 1)
                    spans.append((begin, begin + len(obj.encoded_data)))
    spans.sort()
    starts = [a for a, _ in spans]
    reach: list[int] = []  # the furthest end among the spans starting at or before each one
    for _, b in spans:
        reach.append(max(b, reach[-1]) if reach else b)

    def in_stream(position: int) -> bool:
        i = bisect.bisect_right(starts, position) - 1
        return i >= 0 and position < reach[i]

    for match in OBJECT_HEADER.finditer(data, region_start):
        if match.start() not in listed and not in_stream(match.start()):
            number = match.group(1).decode()
            changes.append(Change(-1, f"an object ({number}) was hidden in the file outside every cross-reference "
                                  "table: a viewer that rebuilds the table would show it",
                                  f"文件中藏有未登记在交叉引用表中的对象（{number}），重建交叉引用表的阅读器会显示它"))
    for match in XREF_KEYWORD.finditer(data, region_start):
        if match.start() not in xref_starts and not in_stream(match.start()):
            changes.append(Change(-1, "a cross-reference section that is not part of the document's history was "
                                  "appended", "文件中追加了不属于文档修订历史的交叉引用表"))
    return changes


def _table_as_pyhanko_read_it(data: bytes, at: int, section) -> bool:
    """A classic xref table of exactly 20-byte entries marked n or f (pdfium reads fixed
    20-byte entries and takes anything but f as in use; pyHanko re-synchronises on other
    line lengths and skips unknown markers), listing what pyHanko read."""
    m = re.compile(rb"xref[ \t]*(?:\r\n|\r|\n)").match(data, at)
    if m is None:
        return False
    pos, used, freed = m.end(), {}, {}
    while (sub := XREF_SUBSECTION.match(data, pos)) is not None:
        pos, start = sub.end(), int(sub[1])
        for i in range(int(sub[2])):
            entry = XREF_ENTRY.match(data, pos)
            if entry is None or entry.end() - pos != 20:
                return False
            pos = entry.end()
            if start + i == 0:
                continue
            if entry[3] == b"n":
                used[start + i] = (int(entry[2]), int(entry[1]))
            else:
                freed[start + i] = int(entry[2])
    return (re.compile(rb"[ \t\r\n]*trailer").match(data, pos) is not None
            and used == section.standard_xrefs and freed == section.freed)


def _audit_revision(reader: PdfFileReader, revision: int) -> list[Change]:
    audit = _Audit(reader, revision)
    _check_trailer(audit)
    root_ref = audit.new.root_ref
    for freed in reader.xrefs.refs_freed_in_revision(revision):
        audit.change(f"object {freed.idnum} was deleted", f"对象 {freed.idnum} 被删除")
    for ref in reader.xrefs.explicit_refs_in_revision(revision):
        if ref.generation != 0:
            audit.change(f"object {ref.idnum} was written with generation {ref.generation}: readers that ignore "
                         "generation numbers take it for the signed object", f"对象 {ref.idnum} 以非零代号写入")
    _check_catalog(audit, root_ref)
    _check_info(audit)
    _check_metadata(audit)
    _check_acroform_and_pages(audit)
    _check_dss(audit)
    meta = reader.xrefs.get_xref_container_info(revision)
    if meta.stream_ref is not None:
        audit.explained.add((meta.stream_ref.idnum, meta.stream_ref.generation))
    for ref in reader.xrefs.explicit_refs_in_revision(revision):
        key = (ref.idnum, ref.generation)
        if key in audit.explained:
            continue
        obj = audit.new.get_object(ref)
        if not audit.old_has(ref) and _object_stream_as_listed(reader, revision, ref, obj):
            continue  # a container for other objects, each of which is judged on its own
        audit.change(*_describe_unexplained(audit, ref, obj))
    return audit.changes


def _object_stream_as_listed(reader: PdfFileReader, revision: int, ref, obj) -> bool:
    """An object stream holds exactly the objects this revision's xref places in it: a
    rebuilding reader registers every object of every object stream it finds."""
    if not isinstance(obj, generic.StreamObject) or obj.get("/Type") != "/ObjStm":
        return False
    data = reader.xrefs.get_xref_data(revision)
    listed = {n for n, loc in data.xrefs_in_objstm.items() if loc.obj_stream_id == ref.idnum}
    if data.hybrid is not None:
        listed |= {n for n, loc in data.hybrid.xref_data.xrefs_in_objstm.items() if loc.obj_stream_id == ref.idnum}
    try:
        head = obj.data[:int(obj["/First"])].split()
        held = {int(head[2 * i]) for i in range(int(obj["/N"]))}
    except (KeyError, ValueError, TypeError, IndexError, PdfError):
        return False
    return bool(listed) and held == listed


def _check_trailer(audit: _Audit) -> None:
    old, new = audit.old.trailer_view, audit.new.trailer_view
    for key in ("/Root", "/Info"):
        if _ref_key(old.raw_get(key) if key in old else None) != _ref_key(new.raw_get(key) if key in new else None):
            audit.change(f"the document's {key[1:]} dictionary was replaced", f"文档的 {key[1:]} 字典被替换")
    if "/Encrypt" in new:
        audit.change("encryption was added", "文档被加密")


def _ref_key(value) -> tuple[int, int] | None:
    if isinstance(value, generic.IndirectObject):
        return value.idnum, value.generation
    return None


def _dict_diff(old: generic.DictionaryObject, new: generic.DictionaryObject) -> set[str]:
    """Keys whose raw (undereferenced) value differs between two dictionaries."""
    keys = set(old.keys()) | set(new.keys())
    return {k for k in keys if k not in old or k not in new or _raw(old, k) != _raw(new, k)}


def _raw(d: generic.DictionaryObject, key: str):
    value = d.raw_get(key)
    if isinstance(value, generic.IndirectObject):
        return ("ref", value.idnum, value.generation)
    return value


def _check_catalog(audit: _Audit, root_ref: generic.Reference) -> None:
    audit.explained.add((root_ref.idnum, root_ref.generation))
    old, new = audit.old.root, audit.new.root
    diff = _dict_diff(old, new)
    if "/Version" in diff and not _version_raised(old, new):
        audit.change("the document catalog changed: the PDF version was lowered or malformed (/Version)",
                     "文档目录被修改：/Version")
    if "/Extensions" in diff and not _developer_extensions(new.raw_get("/Extensions") if "/Extensions" in new else None):
        audit.change("the document catalog changed: /Extensions holds something other than developer extensions",
                     "文档目录被修改：/Extensions")
    for key in sorted(diff - CATALOG_MAY_CHANGE):
        what = {"/OpenAction": "an action run on opening", "/AA": "automatic actions", "/Names": "the name tree "
                "(scripts, embedded files)", "/OCProperties": "optional content (layers that show or hide content)",
                "/Pages": "the page tree", "/AcroForm": "the form", "/Metadata": "the XMP metadata reference",
                "/Perms": "the signature permissions", "/StructTreeRoot": "the structure tree"}.get(key, key)
        audit.change(f"the document catalog changed: {what} ({key})", f"文档目录被修改：{key}")


def _version_raised(old: generic.DictionaryObject, new: generic.DictionaryObject) -> bool:
    form = re.compile(r"/\d\.\d")
    after = new.get("/Version") if "/Version" in new else None
    before = old.get("/Version") if "/Version" in old else None
    return (isinstance(after, generic.NameObject) and form.fullmatch(after) is not None
            and (before is None or (form.fullmatch(str(before)) is not None and after >= before)))


def _developer_extensions(value) -> bool:
    if not isinstance(value, generic.DictionaryObject):
        return False
    keys = {"/Type", "/BaseVersion", "/ExtensionLevel", "/URL", "/ExtensionRevision"}
    for prefix in value.keys():
        entry = value.raw_get(prefix)
        items = [entry.raw_get(i) for i in range(len(entry))] if isinstance(entry, generic.ArrayObject) else [entry]
        if not all(isinstance(e, generic.DictionaryObject) and set(e.keys()) <= keys for e in items):
            return False
    return True


def _rewritten(audit: _Audit, value) -> tuple | None:
    """(before, after) of an indirect object that existed before this revision and is
    rewritten in it; None otherwise. Either way the object is accounted for here."""
    if not isinstance(value, generic.IndirectObject):
        return None
    audit.explained.add((value.idnum, value.generation))
    if not audit.old_has(value.reference):
        return None  # new: a replaced /Info or /Metadata is reported by the trailer or catalog check
    return audit.old.get_object(value.reference), audit.new.get_object(value.reference)


def _check_info(audit: _Audit) -> None:
    trailer = audit.new.trailer_view
    pair = _rewritten(audit, trailer.raw_get("/Info") if "/Info" in trailer else None)
    if pair is None:
        return
    old, new = pair
    if not isinstance(new, generic.DictionaryObject) or not isinstance(old, generic.DictionaryObject):
        audit.change("the document information was replaced", "文档信息被替换")
        return
    diff = _dict_diff(old, new)
    for key in sorted(diff - INFO_MAY_CHANGE):
        audit.change(f"the document information changed: {key[1:]}", f"文档信息（{key[1:]}）被修改")
    forms = {"/ModDate": PDF_DATE, "/Producer": _TOOL}
    for key in sorted(diff & INFO_MAY_CHANGE):
        value = new.raw_get(key) if key in new else None
        text = str(value) if isinstance(value, generic.TextStringObject | generic.ByteStringObject) else None
        before = str(old.raw_get(key)) if key in old else None
        # pyHanko appends its name to an earlier producer ("...; pyHanko 0.39.0") when a newer
        # version renews the timestamp; anything else is free text.
        if text is not None and key == "/Producer" and before and text.startswith(before + "; "):
            text = text[len(before) + 2:]
        if text is None or not forms[key].fullmatch(text):
            audit.change(f"the document information changed: {key[1:]} is not a date or tool name",
                         f"文档信息（{key[1:]}）被改为任意内容")


def _check_metadata(audit: _Audit) -> None:
    # A /Metadata added where there was none is pyHanko's first update of a file without
    # XMP: harmless by itself, and its content is not shown on any page.
    pair = _rewritten(audit, audit.new.root.raw_get("/Metadata") if "/Metadata" in audit.new.root else None)
    if pair is None:
        return
    old, new = pair
    try:
        same = _xmp_facts(old.data) == _xmp_facts(new.data)
    except (ET.ParseError, AttributeError, PdfError, ValueError):
        same = False
    if not same:
        audit.change("the XMP metadata changed (title, author or other properties)", "XMP 元数据（标题、作者等）被修改")


def _xmp_facts(xml: bytes) -> Counter:
    """Every element with its path, attributes, text and tail; a volatile property (by
    its qualified name) only with a placeholder, and only if its value has its form."""
    root = ET.fromstring(xml)
    facts: Counter = Counter()

    def walk(element, path):
        tag = element.tag if isinstance(element.tag, str) else ""
        here = path + (tag,)
        attrs = []
        for name, value in sorted(element.attrib.items()):
            form = XMP_VOLATILE_FORMS.get(name)
            if form is not None and form.fullmatch(value):
                value = "(volatile)"
            attrs.append((name, value))
        text = (element.text or "").strip()
        form = XMP_VOLATILE_FORMS.get(tag)
        if form is not None and form.fullmatch(text):
            text = "(volatile)"
        facts[(here, tuple(attrs), text, (element.tail or "").strip())] += 1
        for child in element:
            walk(child, here)

    walk(root, ())
    return facts


def _check_acroform_and_pages(audit: _Audit) -> None:
    """The form and the pages may only gain invisible document-timestamp fields."""
    old_root, new_root = audit.old.root, audit.new.root
    new_fields: list[generic.IndirectObject] = []
    form_ref = new_root.raw_get("/AcroForm") if "/AcroForm" in new_root else None
    if isinstance(form_ref, generic.IndirectObject):
        audit.explained.add((form_ref.idnum, form_ref.generation))
    if "/AcroForm" in new_root:
        new_form = new_root["/AcroForm"]
        old_form = old_root["/AcroForm"] if "/AcroForm" in old_root else generic.DictionaryObject()
        for key in sorted(_dict_diff(old_form, new_form) - {"/Fields", "/SigFlags"}):
            audit.change(f"the form changed: {key}", f"表单被修改：{key}")
        if "/SigFlags" in old_form and _raw(old_form, "/SigFlags") != _raw(new_form, "/SigFlags"):
            audit.change("the form's signature flags changed", "表单的签名标志被修改")
        added = _appended(audit, old_form.raw_get("/Fields") if "/Fields" in old_form else generic.ArrayObject(),
                          new_form.raw_get("/Fields") if "/Fields" in new_form else generic.ArrayObject(), "form fields")
        new_fields = added or []
    for field_ref in new_fields:
        _check_timestamp_field(audit, field_ref)
    for index, (old_page_ref, new_page_ref) in enumerate(zip(_page_refs(audit.old), _page_refs(audit.new)), 1):
        if old_page_ref != new_page_ref:
            audit.change(f"page {index} was replaced", f"第 {index} 页被替换")
            continue
        ref = generic.Reference(*new_page_ref, pdf=audit.reader)
        if ref not in audit.reader.xrefs.explicit_refs_in_revision(audit.revision):
            continue
        audit.explained.add(new_page_ref)
        old_page, new_page = audit.old.get_object(ref), audit.new.get_object(ref)
        for key in sorted(_dict_diff(old_page, new_page) - {"/Annots"}):
            what = {"/Contents": "its content", "/Resources": "its resources (fonts, images)",
                    "/MediaBox": "its size", "/CropBox": "its visible area", "/Rotate": "its rotation",
                    "/AA": "its automatic actions"}.get(key, key)
            audit.change(f"page {index} changed: {what} ({key})", f"第 {index} 页被修改：{key}")
        added = _appended(audit, old_page.raw_get("/Annots") if "/Annots" in old_page else generic.ArrayObject(),
                          new_page.raw_get("/Annots") if "/Annots" in new_page else generic.ArrayObject(),
                          f"annotations of page {index}")
        for annot in added or []:
            if (annot.idnum, annot.generation) not in audit.timestamp_fields:
                audit.change(*_describe_annotation(audit, annot, index))
    if len(list(_page_refs(audit.old))) != len(list(_page_refs(audit.new))):
        audit.change("pages were added or removed", "页面被增加或删除")


def _page_refs(resolver: HistoricalResolver) -> Iterator[tuple[int, int]]:
    """The page objects in order, as (id, generation); bounded against hostile trees."""
    seen: set[tuple[int, int]] = set()
    stack = [resolver.root.raw_get("/Pages")]
    while stack and len(seen) < 10_000:
        node_ref = stack.pop()
        if not isinstance(node_ref, generic.IndirectObject):
            continue
        key = (node_ref.idnum, node_ref.generation)
        if key in seen:
            continue
        seen.add(key)
        node = node_ref.get_object()
        if node.get("/Type") == "/Pages":
            kids = node.raw_get("/Kids") if "/Kids" in node else generic.ArrayObject()
            kids = kids.get_object() if isinstance(kids, generic.IndirectObject) else kids
            stack.extend(reversed(list(kids)))
        else:
            yield key


def _appended(audit: _Audit, old_array, new_array, what: str) -> list[generic.IndirectObject] | None:
    """The references appended to an array whose old entries stay in place; None, and a
    change, when the array was otherwise altered."""
    if (isinstance(new_array, generic.IndirectObject) and audit.old_has(new_array.reference)
            and _ref_key(new_array) != _ref_key(old_array)):
        audit.change(f"an object of the signed document now serves as the {what}", f"已签署文件中的对象被改作 {what}")
        return None
    old_list, new_list = _ref_list(audit, old_array), _ref_list(audit, new_array)
    if old_list is None or new_list is None or [_ref_key(r) for r in new_list[:len(old_list)]] != [
            _ref_key(r) for r in old_list]:
        audit.change(f"the {what} were rearranged or removed", f"{what} 被重排或删除")
        return None
    return new_list[len(old_list):]


def _ref_list(audit: _Audit, array) -> list[generic.IndirectObject] | None:
    """An array of references (possibly itself indirect); None if it holds anything else."""
    if array is None:
        return []
    if isinstance(array, generic.IndirectObject):
        audit.explained.add((array.idnum, array.generation))
        array = array.get_object()
    if not isinstance(array, generic.ArrayObject):
        return None
    refs = [array.raw_get(i) for i in range(len(array))]
    return refs if all(isinstance(r, generic.IndirectObject) for r in refs) else None


def _check_timestamp_field(audit: _Audit, field_ref: generic.IndirectObject) -> None:
    """A new field is acceptable only as an invisible document timestamp (no appearance,
    zero-area rectangle, no actions, a /DocTimeStamp value)."""
    key = (field_ref.idnum, field_ref.generation)
    field = field_ref.get_object()
    problems: list[str] = []
    if audit.old_has(generic.Reference(*key, pdf=audit.reader)):
        audit.change(f"object {key[0]} of the signed document was turned into a form field",
                     f"已签署文件中的对象 {key[0]} 被改写为表单域")
        return
    if not isinstance(field, generic.DictionaryObject) or field.get("/FT") != "/Sig":
        audit.change("a form field that is not a signature field was added", "新增了非签名表单域")
        return
    extra = set(field.keys()) - TIMESTAMP_WIDGET_KEYS
    if extra:
        problems.append(f"entries {sorted(extra)}")
    rect = field.get("/Rect", generic.ArrayObject([0, 0, 0, 0]))
    try:
        x1, y1, x2, y2 = (float(v) for v in rect)
        if abs(x2 - x1) * abs(y2 - y1) != 0:
            problems.append("a visible area")
    except (TypeError, ValueError):
        problems.append("a malformed rectangle")
    value_ref = field.raw_get("/V") if "/V" in field else None
    value = field["/V"] if value_ref is not None else None
    if not isinstance(value, generic.DictionaryObject) or value.get("/Type") != "/DocTimeStamp":
        audit.change("a signature field was added (a second signature)", "新增了签名域（第二个签名）")
        return
    if set(value.keys()) - TIMESTAMP_SIG_KEYS:
        problems.append(f"signature entries {sorted(set(value.keys()) - TIMESTAMP_SIG_KEYS)}")
    if problems:
        audit.change(f"a document timestamp field with {', '.join(problems)} was added",
                     "新增的文档时间戳域含有不允许的内容（可见区域、外观或动作）")
        return
    audit.explained.add(key)
    audit.timestamp_fields.add(key)
    if isinstance(value_ref, generic.IndirectObject):
        value_key = (value_ref.idnum, value_ref.generation)
        if audit.old_has(generic.Reference(*value_key, pdf=audit.reader)):
            audit.change(f"object {value_key[0]} of the signed document was turned into a timestamp",
                         f"已签署文件中的对象 {value_key[0]} 被改写为时间戳")
        else:
            audit.explained.add(value_key)


def _check_dss(audit: _Audit) -> None:
    """The DSS may gain certificates, CRLs, OCSP responses and VRI entries: new objects, or
    objects that were already validation data before this revision."""
    if "/DSS" not in audit.new.root:
        return
    problems: list[tuple[str, str]] = []
    before = {key for key, _ in _dss_members(audit.old, [])} if "/DSS" in audit.old.root else set()
    for key, label in _dss_members(audit.new, problems):
        if key in before or not audit.old_has(generic.Reference(*key, pdf=audit.reader)):
            audit.explained.add(key)
        else:
            problems.append((f"an object of the signed document ({label} {key[0]}) was rewritten as validation data",
                             f"已签署文件中的对象 {key[0]} 被改写为验证数据"))
    for en, zh in dict.fromkeys(problems):
        audit.change(en, zh)


def _dss_members(resolver: HistoricalResolver,
                 problems: list[tuple[str, str]]) -> Iterator[tuple[tuple[int, int], str]]:
    """(object key, label) of the DSS itself and everything it holds."""
    dss_ref = resolver.root.raw_get("/DSS")
    if isinstance(dss_ref, generic.IndirectObject):
        yield (dss_ref.idnum, dss_ref.generation), "DSS"
    dss = dss_ref.get_object()
    if not isinstance(dss, generic.DictionaryObject) or set(dss.keys()) - DSS_KEYS:
        problems.append(("the validation data store (DSS) holds unexpected entries", "验证数据存储（DSS）含有不允许的内容"))
        return
    for key in ("/Certs", "/CRLs", "/OCSPs"):
        if key in dss:
            yield from _dss_streams(dss.raw_get(key), problems, DSS_CONTENT[key])
    if "/VRI" not in dss:
        return
    vri_ref = dss.raw_get("/VRI")
    if isinstance(vri_ref, generic.IndirectObject):
        yield (vri_ref.idnum, vri_ref.generation), "VRI"
    vri = vri_ref.get_object()
    if not isinstance(vri, generic.DictionaryObject):
        problems.append(("the validation data store (DSS) is malformed", "验证数据存储（DSS）格式错误"))
        return
    for name in list(vri.keys()):
        raw = vri.raw_get(name)
        if isinstance(raw, generic.IndirectObject):
            yield (raw.idnum, raw.generation), "VRI entry"
        entry = raw.get_object()
        if not isinstance(entry, generic.DictionaryObject) or set(entry.keys()) - VRI_KEYS:
            problems.append(("a validation entry (VRI) holds unexpected entries", "验证条目（VRI）含有不允许的内容"))
            continue
        for key in ("/Cert", "/CRL", "/OCSP"):
            if key in entry:
                yield from _dss_streams(entry.raw_get(key), problems, DSS_CONTENT[key])
        if "/TS" in entry:
            yield from _dss_streams(generic.ArrayObject([entry.raw_get("/TS")]), problems, DSS_CONTENT["/TS"])


def _dss_streams(array_ref, problems: list[tuple[str, str]], kind):
    """DSS arrays hold plain data streams (DER certificates, CRLs, OCSP responses)."""
    if isinstance(array_ref, generic.IndirectObject):
        yield (array_ref.idnum, array_ref.generation), "DSS array"
    array = array_ref.get_object()
    if not isinstance(array, generic.ArrayObject):
        problems.append(("the validation data store (DSS) is malformed", "验证数据存储（DSS）格式错误"))
        return
    for i in range(len(array)):
        raw = array.raw_get(i)
        stream = raw.get_object()
        if not isinstance(stream, generic.StreamObject) or set(stream.keys()) - {"/Length", "/Filter", "/DecodeParms"}:
            problems.append(("the validation data store (DSS) holds something other than validation data",
                             "验证数据存储（DSS）含有非验证数据"))
            continue
        try:
            kind.load(stream.data, strict=True).native  # the whole structure, and nothing after it
        except (ValueError, TypeError, KeyError, PdfError):
            problems.append(("the validation data store (DSS) holds data that is not the certificate, CRL, OCSP "
                             "response or timestamp it claims to be", "验证数据存储（DSS）含有无法解析的验证数据"))
            continue
        if isinstance(raw, generic.IndirectObject):
            yield (raw.idnum, raw.generation), "validation data"


def _describe_annotation(audit: _Audit, annot_ref, page: int) -> tuple[str, str]:
    annot = annot_ref.get_object()
    subtype = annot.get("/Subtype", "?") if isinstance(annot, generic.DictionaryObject) else "?"
    if subtype == "/Widget" and isinstance(annot, generic.DictionaryObject) and annot.get("/FT") == "/Sig":
        return (f"a signature field was added on page {page} (a second signature or a signature look-alike)",
                f"第 {page} 页新增了签名域（第二个签名或伪装签名）")
    return (f"an annotation ({str(subtype).lstrip('/')}) was added on page {page}: it can cover or change what the page shows",
            f"第 {page} 页新增了注释（{str(subtype).lstrip('/')}），可能遮盖或改变页面内容")


def _describe_unexplained(audit: _Audit, ref: generic.Reference, obj) -> tuple[str, str]:
    existed = audit.old_has(ref)
    kind = ""
    if isinstance(obj, generic.DictionaryObject):
        kind = " ".join(str(obj[k]) for k in ("/Type", "/Subtype", "/FT") if k in obj and isinstance(obj[k], generic.NameObject))
    kind_en = f" ({kind})" if kind else ""
    if existed:
        return (f"object {ref.idnum}{kind_en} of the signed document was rewritten",
                f"已签署文件中的对象 {ref.idnum}{kind_en} 被改写")
    return (f"object {ref.idnum}{kind_en} was added that is not validation data",
            f"新增了不属于验证数据的对象 {ref.idnum}{kind_en}")
