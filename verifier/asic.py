"""The evidence package's format: an ASiC-E container with a CAdES signature (ETSI EN 319
162-1), its member names and its manifest (``META-INF/ASiCManifest.xml``).

What is written here is what is read: the builder (preservation.evidence_package) and the
offline verifier (verifier.evidence_package) share these names and this XML, so a package
one makes is one the other reads.
"""

from __future__ import annotations

import base64
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass
from xml.etree import ElementTree

MIMETYPE = "application/vnd.etsi.asic-e+zip"
MIMETYPE_NAME = "mimetype"
MANIFEST_NAME = "META-INF/ASiCManifest.xml"
SIGNATURE_NAME = "META-INF/signature001.p7s"
SIGNATURE_MIME = "application/pkcs7-signature"

# The data objects, by the role a verifier gives them.
CERTIFICATE_NAME = "certificate.pdf"
RECEIPT_NAME = "receipt.json"
TRANSACTION_NAME = "transaction.json"
REPORT_NAME = "verification-report.pdf"
TIMESTAMP_NAME = "evidence-timestamp.tsr"
HASH_NAME = "evidence.sha256.txt"
EVIDENCE_DIR = "evidence/"

ASIC_NS = "http://uri.etsi.org/02918/v1.2.1#"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"

MAX_NAME_BYTES = 255
MAX_MANIFEST_BYTES = 256 * 1024
_UNSAFE_IN_FILE_NAME = re.compile(r'[<>:"/\\|?*]')
# Names Windows reserves whatever the extension: a court clerk's unzip must not trip on them.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def is_safe_name(name: str) -> bool:
    """A member name a verifier accepts: relative, no ``.`` or ``..`` segment, no empty
    segment, no backslash or colon, NFC, printable (no control or bidi-format characters,
    which could make ``gpj.exe`` read as ``exe.jpg``), at most 255 bytes."""
    if not name or len(name.encode("utf-8")) > MAX_NAME_BYTES or unicodedata.normalize("NFC", name) != name:
        return False
    if name.startswith("/") or "\\" in name or ":" in name:
        return False
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def evidence_member_name(file_name: str | None) -> str:
    """``evidence/<name>`` for a preserved file, its name made safe: the name is whatever
    the submitter sent, so only its last path segment is kept, characters a file system
    or a terminal would read otherwise are replaced, and it is cut (keeping the extension)."""
    name = unicodedata.normalize("NFC", file_name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join("_" if unicodedata.category(ch)[0] in ("C", "Z") and ch != " " else ch for ch in name)
    name = _UNSAFE_IN_FILE_NAME.sub("_", name).strip(" .")
    if _RESERVED.match(name):
        name = "_" + name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 16:
        stem, dot, extension = name, "", ""
    while len((stem + dot + extension).encode("utf-8")) > 120:
        stem = stem[:-1]
    name = (stem.rstrip(" .") + dot + extension) if stem.strip(" .") else ""
    return EVIDENCE_DIR + (name or "evidence.bin")


@dataclass(frozen=True)
class ManifestEntry:
    name: str  # the member's name in the container
    mime_type: str
    sha256: bytes


@dataclass(frozen=True)
class Manifest:
    signature_name: str
    entries: list[ManifestEntry]


class ManifestError(ValueError):
    """The manifest is not an ASiCManifest this verifier reads; the message says why."""


def manifest_xml(entries: list[ManifestEntry], signature_name: str = SIGNATURE_NAME) -> bytes:
    """The ASiCManifest naming the signature and every data object with its SHA-256."""
    ElementTree.register_namespace("asic", ASIC_NS)
    ElementTree.register_namespace("ds", DS_NS)
    root = ElementTree.Element(f"{{{ASIC_NS}}}ASiCManifest")
    ElementTree.SubElement(root, f"{{{ASIC_NS}}}SigReference", URI=_uri(signature_name), MimeType=SIGNATURE_MIME)
    for entry in entries:
        ref = ElementTree.SubElement(root, f"{{{ASIC_NS}}}DataObjectReference", URI=_uri(entry.name),
                                     MimeType=entry.mime_type)
        ElementTree.SubElement(ref, f"{{{DS_NS}}}DigestMethod", Algorithm=SHA256_URI)
        ElementTree.SubElement(ref, f"{{{DS_NS}}}DigestValue").text = base64.b64encode(entry.sha256).decode()
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def parse_manifest(data: bytes) -> Manifest:
    """Read an ASiCManifest. Raises ManifestError for anything but one signature reference
    and data object references with one SHA-256 digest each, under safe, distinct names.
    A DOCTYPE is refused before parsing: no entity expansion, no external reference."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"larger than {MAX_MANIFEST_BYTES} bytes")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise ManifestError("a DOCTYPE or entity declaration")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ManifestError(f"not well-formed XML ({exc})") from None
    if root.tag != f"{{{ASIC_NS}}}ASiCManifest":
        raise ManifestError(f"the root element is {root.tag}, not ASiCManifest in {ASIC_NS}")
    signatures = root.findall(f"{{{ASIC_NS}}}SigReference")
    if len(signatures) != 1:
        raise ManifestError("not exactly one SigReference")
    entries, seen = [], set()
    for child in root:
        if child.tag == f"{{{ASIC_NS}}}SigReference":
            continue
        if child.tag != f"{{{ASIC_NS}}}DataObjectReference":
            raise ManifestError(f"an unexpected element {child.tag}")
        name = _name_of(child.get("URI"))
        if name.casefold() in seen:
            raise ManifestError(f"{name!r} listed twice")
        seen.add(name.casefold())
        methods = child.findall(f"{{{DS_NS}}}DigestMethod")
        values = child.findall(f"{{{DS_NS}}}DigestValue")
        if len(methods) != 1 or len(values) != 1 or methods[0].get("Algorithm") != SHA256_URI:
            raise ManifestError(f"{name!r} has no single SHA-256 digest")
        try:
            digest = base64.b64decode((values[0].text or "").strip(), validate=True)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ManifestError(f"{name!r} has a malformed digest value")
        entries.append(ManifestEntry(name, child.get("MimeType") or "application/octet-stream", digest))
    return Manifest(_name_of(signatures[0].get("URI")), entries)


def _uri(name: str) -> str:
    # A relative URI reference (RFC 3986): non-ASCII names are percent-encoded as UTF-8.
    return urllib.parse.quote(name, safe="/-._~")


def _name_of(uri: str | None) -> str:
    """The member name a URI names: one spelling only (the one _uri writes), so one member
    cannot be listed twice under two spellings."""
    if not uri:
        raise ManifestError("a reference without a URI")
    try:
        name = urllib.parse.unquote(uri, errors="strict")
    except UnicodeDecodeError:
        raise ManifestError(f"the URI {uri!r} is not UTF-8") from None
    if _uri(name) != uri or not is_safe_name(name):
        raise ManifestError(f"the URI {uri!r} is not a safe member name")
    return name
