"""Reading an ASiC-E container safely: a ZIP from anyone, read only within limits.

Everything here is decided before a byte is inflated, from the central directory and the
local headers: the number of entries, the declared sizes and compression ratios (a zip
bomb), entries that overlap (the "overlapping files" zip bomb shares one compressed stream
between many entries), unsafe or duplicate names, encryption, and the ``mimetype`` entry
that ETSI EN 319 162-1 puts first, stored, at offset 0. Inflating then stops at each entry's
declared size and its CRC is checked. A container that fails any of this is refused
(a PackageRefused with its code), never reported on.
"""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

from .asic import MIMETYPE, MIMETYPE_NAME, is_safe_name
from .errors import NotAPackage, PackageDuplicateEntry, PackageMalformed, PackageMimetype, PackageTooLarge, \
    PackageUnsafeName

MiB = 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature, version .. extra length: 30 bytes
_LOCAL_SIGNATURE = b"PK\x03\x04"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ContainerLimits:
    """How much a package may hold. A preserved file is at most 512 MB (the largest
    ``NOTARY_PRESERVATION_MAX_BYTES``); the rest is a few MB."""

    max_bytes: int = 600 * MiB  # the container file itself
    max_entries: int = 64
    max_total: int = 600 * MiB  # all entries, inflated
    max_ratio: int = 100  # inflated / compressed, for entries above ratio_floor
    ratio_floor: int = 1 * MiB  # smaller entries may compress better (text): their size bounds them


@dataclass(frozen=True)
class Container:
    """The members after ``mimetype``, by name, in container order."""

    members: dict[str, bytes]


def read_container(data: bytes, limits: ContainerLimits = ContainerLimits()) -> Container:
    """The container's members. Raises a PackageRefused (NotAPackage, PackageTooLarge,
    PackageUnsafeName, PackageDuplicateEntry, PackageMimetype, PackageMalformed)."""
    if len(data) > limits.max_bytes:
        raise PackageTooLarge(f"the file is larger than {limits.max_bytes // MiB} MB")
    if not data.startswith(_LOCAL_SIGNATURE):
        raise NotAPackage("it does not begin with a ZIP entry")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, struct.error) as exc:
        raise NotAPackage(f"its ZIP directory cannot be read ({exc})") from None
    _check_directory(infos, limits)
    _check_mimetype(data, infos)
    _check_layout(data, infos, getattr(archive, "start_dir", len(data)))
    members: dict[str, bytes] = {}
    for info in infos[1:]:
        members[info.filename] = _inflate(archive, info)
    return Container(members)


def _check_directory(infos: list[zipfile.ZipInfo], limits: ContainerLimits) -> None:
    if not infos:
        raise NotAPackage("the ZIP has no entries")
    if len(infos) > limits.max_entries:
        raise PackageTooLarge(f"more than {limits.max_entries} entries")
    seen: set[str] = set()
    total = 0
    for info in infos:
        # zipfile cuts a name at a NUL byte: the name on disk is orig_filename.
        if info.orig_filename != info.filename or not is_safe_name(info.filename):
            raise PackageUnsafeName(info.orig_filename)
        key = unicodedata.normalize("NFC", info.filename).casefold()  # one file on a case-blind disk
        if key in seen:
            raise PackageDuplicateEntry(info.filename)
        seen.add(key)
        if info.flag_bits & 0x1:
            raise PackageMalformed(f"{info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise PackageMalformed(f"{info.filename!r} uses an unsupported compression method")
        total += info.file_size
        if total > limits.max_total:
            raise PackageTooLarge(f"more than {limits.max_total // MiB} MB when inflated")
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise PackageTooLarge(f"{info.filename!r} inflates more than {limits.max_ratio} times")


def _check_mimetype(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    first = infos[0]
    if first.filename != MIMETYPE_NAME:
        where = "is not the first entry" if any(i.filename == MIMETYPE_NAME for i in infos) else "is missing"
        raise PackageMimetype(f"the mimetype entry {where}")
    if first.header_offset != 0 or first.compress_type != zipfile.ZIP_STORED:
        raise PackageMimetype("the mimetype entry is compressed or not at the start of the file")
    header = _local_header(data, first)
    if header[-1] != 0:  # EN 319 162-1 A.1: no extra field, so the type reads at byte 38
        raise PackageMimetype("the mimetype entry has an extra field")
    start = first.header_offset + _LOCAL_HEADER.size + header[-2]
    if data[start:start + first.compress_size] != MIMETYPE.encode() or first.file_size != len(MIMETYPE):
        raise PackageMimetype(f"the mimetype is not {MIMETYPE}")


def _local_header(data: bytes, info: zipfile.ZipInfo) -> tuple:
    try:
        header = _LOCAL_HEADER.unpack_from(data, info.header_offset)
    except struct.error:
        raise PackageMalformed(f"{info.filename!r} points outside the file") from None
    if header[0] != _LOCAL_SIGNATURE:
        raise PackageMalformed(f"{info.filename!r} points at no entry")
    return header


def _check_layout(data: bytes, infos: list[zipfile.ZipInfo], directory_start: int) -> None:
    """Each entry's local header and data lie before the next entry's, and all before the
    central directory: no two entries share bytes."""
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset < end:
            raise PackageMalformed(f"{info.filename!r} overlaps another entry")
        header = _local_header(data, info)
        end = info.header_offset + _LOCAL_HEADER.size + header[-2] + header[-1] + info.compress_size
    if end > directory_start:
        raise PackageMalformed("an entry overlaps the ZIP directory")


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """An entry's bytes, never more than it declares; its CRC checked."""
    out = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                out += chunk
                if len(out) > info.file_size:
                    raise PackageTooLarge(f"{info.filename!r} inflates beyond its declared size")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise PackageMalformed(f"{info.filename!r} cannot be read ({exc})") from None
    if len(out) != info.file_size:
        raise PackageMalformed(f"{info.filename!r} is shorter than it declares")
    return bytes(out)
