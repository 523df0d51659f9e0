"""PDF/A-2b (ISO 19005-2, level B) for documents drawn with reportlab.

Archives and courts keep a notarial certificate for decades; PDF/A is the form they
expect. Level B asks that the page looks the same on every reader forever: every font
embedded (the renderer only uses the embedded CJK subset, including for the canvas's
initial font, which reportlab would otherwise declare as a non-embedded Helvetica), an
output intent that fixes the meaning of the colours (sRGB), and XMP metadata that
identifies the file as PDF/A and repeats the document information.

reportlab's open-source edition has no PDF/A mode, so the two catalog entries are added
to its document before it is written. pyHanko keeps the XMP packet when it signs (it
only refreshes the modification date and producer there and in /Info).
"""

from __future__ import annotations

import datetime as dt
import functools
from xml.sax.saxutils import escape

from pyhanko.pdf_utils.metadata.model import VENDOR as PYHANKO_VENDOR
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFCatalog,
    PDFDictionary,
    PDFName,
    PDFStream,
    PDFString,
)
from reportlab.pdfbase.pdfdoc import format as pdf_format
from reportlab.pdfgen import canvas

SRGB_IDENTIFIER = "sRGB IEC61966-2.1"
# pyHanko writes the final file: when it signs it sets the XMP producer to its own name and
# appends that name to /Info's unless already there. Starting from its name keeps the two
# equal, as PDF/A asks (ISO 19005-2, 6.6.2.3).
PDF_PRODUCER = PYHANKO_VENDOR


@functools.cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile, made by Little CMS through Pillow (no file to ship)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


class _UnfilteredStream(PDFStream):
    """A stream written as is. PDF/A wants the XMP packet readable without decoding (and
    reportlab would otherwise compress it with the page content)."""

    def format(self, document) -> bytes:
        dictionary = PDFDictionary(self.dictionary.dict.copy())
        content = self.content if isinstance(self.content, bytes) else self.content.encode("utf-8")
        dictionary["Length"] = len(content)
        return pdf_format(dictionary, document) + b"\nstream\n" + content + b"\nendstream\n"


def make_pdfa(c: canvas.Canvas) -> None:
    """Call before ``c.save()``: adds the output intent and the XMP metadata that a
    PDF/A-2b file carries. The canvas must draw only with embedded fonts."""
    doc = c._doc
    icc = PDFStream(dictionary=PDFDictionary({"N": 3}), content=srgb_profile())
    intent = PDFDictionary({
        "Type": PDFName("OutputIntent"), "S": PDFName("GTS_PDFA1"),
        "OutputConditionIdentifier": PDFString(SRGB_IDENTIFIER), "Info": PDFString(SRGB_IDENTIFIER),
        "DestOutputProfile": doc.Reference(icc),
    })
    catalog = doc.Catalog
    catalog.OutputIntents = PDFArray([intent])
    # PDFCatalog writes only the keys it lists; the instance gets a longer list.
    catalog.__NoDefault__ = [*PDFCatalog.__NoDefault__, "OutputIntents"]
    metadata = _UnfilteredStream(dictionary=PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}))
    metadata.content = _XmpPacket(doc)
    catalog.Metadata = metadata


class _XmpPacket:
    """The XMP text, built when reportlab writes the file (the timestamps exist then)."""

    def __init__(self, doc):
        self.doc = doc

    def encode(self, encoding: str) -> bytes:
        return xmp_packet(self.doc).encode(encoding)


def xmp_packet(doc) -> str:
    """XMP that repeats /Info (title, author, subject, keywords, creator, producer, dates)
    as ISO 19005-2 §6.6.2.3 requires, with the PDF/A-2b identification."""
    info = doc.info
    ts = doc._timeStamp
    year, month, day, hour, minute, second = ts.YMDhms
    offset = dt.timedelta(hours=ts.dhh, minutes=ts.dmm if ts.dhh >= 0 else -ts.dmm)
    when = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone(offset)).isoformat()
    e = escape
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
<pdfaid:part>2</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e(info.title)}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{e(info.author)}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{e(info.subject)}</rdf:li></rdf:Alt></dc:description>
<pdf:Keywords>{e(info.keywords)}</pdf:Keywords>
<pdf:Producer>{e(info.producer)}</pdf:Producer>
<xmp:CreatorTool>{e(info.creator)}</xmp:CreatorTool>
<xmp:CreateDate>{when}</xmp:CreateDate>
<xmp:ModifyDate>{when}</xmp:ModifyDate>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
