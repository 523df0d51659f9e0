"""The certificate is a PDF/A-2b document, checked by reading the issued file back: every
font embedded, an sRGB output intent, XMP that identifies PDF/A-2b and repeats /Info."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import ImageCms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from records.matters import EXAMPLES
from issuer.service import issue_certificate

NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
      "dc": "http://purl.org/dc/elements/1.1/", "pdf": "http://ns.adobe.com/pdf/1.3/",
      "xmp": "http://ns.adobe.com/xap/1.0/"}


def _deref(value):
    return value.get_object() if isinstance(value, generic.IndirectObject) else value


def _fonts(reader: PdfFileReader):
    """Every font dictionary used by any page, its appearance streams and form XObjects."""
    seen: set = set()

    def walk_resources(resources):
        resources = _deref(resources)
        if not isinstance(resources, generic.DictionaryObject):
            return
        for font in _deref(resources.get("/Font", generic.DictionaryObject())).values():
            yield _deref(font)
        for xobject in _deref(resources.get("/XObject", generic.DictionaryObject())).values():
            key = (xobject.idnum, xobject.generation) if isinstance(xobject, generic.IndirectObject) else id(xobject)
            if key in seen:
                continue
            seen.add(key)
            yield from walk_resources(_deref(xobject).get("/Resources"))

    for page in _deref(reader.root["/Pages"]["/Kids"]):
        page = _deref(page)
        yield from walk_resources(page.get("/Resources"))
        for annot in _deref(page.get("/Annots", generic.ArrayObject())):
            for stream in _deref(_deref(annot).get("/AP", generic.DictionaryObject())).values():
                stream = _deref(stream)
                if isinstance(stream, generic.StreamObject):
                    yield from walk_resources(stream.get("/Resources"))


def _embedded(font: generic.DictionaryObject) -> bool:
    if font.get("/Subtype") == "/Type0":
        font = _deref(_deref(font["/DescendantFonts"])[0])
    if font.get("/Subtype") == "/Type3":
        return True  # glyphs are drawn by the font's own procedures
    descriptor = _deref(font.get("/FontDescriptor"))
    return descriptor is not None and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _xmp(reader: PdfFileReader) -> ET.Element:
    stream = reader.root["/Metadata"]
    assert "/Filter" not in stream, "the XMP packet must be readable without decoding"
    return ET.fromstring(stream.data)


def _xmp_value(root: ET.Element, prop: str) -> str | None:
    """A simple XMP property, whether written as an attribute or an element."""
    prefix, name = prop.split(":")
    key = f"{{{NS[prefix]}}}{name}"
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        if key in description.attrib:
            return description.attrib[key]
        element = description.find(f"{prefix}:{name}", NS)
        if element is not None:
            li = element.find(".//rdf:li", NS)
            return (li.text if li is not None else element.text) or ""
    return None


@pytest.mark.parametrize("level, matter, language", [("B-T", "birth", "zh-en"), ("B-LTA", "will", "zh")])
def test_issued_certificates_are_pdfa_2b(runtime_factory, level, matter, language):
    rt = runtime_factory(signature_level=level)
    issued = issue_certificate(rt.issuer_context(), matter, EXAMPLES[matter], language=language)
    reader = PdfFileReader(io.BytesIO(issued.pdf))

    fonts = list(_fonts(reader))
    assert fonts, "the certificate draws text"
    missing = [str(f.get("/BaseFont")) for f in fonts if not _embedded(f)]
    assert not missing, f"fonts not embedded: {missing}"
    assert b"/Helvetica" not in issued.pdf

    (intent,) = reader.root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = intent["/DestOutputProfile"]
    assert profile["/N"] == 3
    icc = ImageCms.ImageCmsProfile(io.BytesIO(profile.data))
    assert "sRGB" in ImageCms.getProfileDescription(icc)

    xmp = _xmp(reader)
    assert _xmp_value(xmp, "pdfaid:part") == "2" and _xmp_value(xmp, "pdfaid:conformance") == "B"
    info = reader.trailer["/Info"]
    # ISO 19005-2 6.6.2.3: the document information and the XMP say the same.
    assert _xmp_value(xmp, "dc:title") == str(info["/Title"])
    assert _xmp_value(xmp, "dc:creator") == str(info["/Author"])
    assert _xmp_value(xmp, "dc:description") == str(info["/Subject"])
    assert _xmp_value(xmp, "pdf:Keywords") == str(info["/Keywords"])
    assert _xmp_value(xmp, "pdf:Producer") == str(info["/Producer"])
    assert _xmp_value(xmp, "xmp:CreatorTool") == str(info["/Creator"])
    assert not reader.encrypted
    assert "/JavaScript" not in (reader.root.get("/Names") or {}) and "/OpenAction" not in reader.root
