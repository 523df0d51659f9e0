"""Reading an ASiC-E container safely: a ZIP from anyone, read only within limits.

Everything here is decided before a byte is inflated, from the central directory and the
local headers: the number of entries, the declared sizes and compression ratios (a zip
bomb), entries that overlap (the "overlapping files" zip bomb shares one compressed stream
between many entries), unsafe or duplicate names, encryption, and the ``mimetype`` entry
that ETSI EN 319 162-1 puts first, stored, at offset 0. Inflating then stops at each entry's
declared size and its CRC is checked. A container that fails any of this is refused
(a PackageRefused with its code), never reported on.

The verifier reads the central directory; a clerk's unzip may read the local headers in
order (a streaming reader), honour extra fields (Info-ZIP's Unicode Path names a member
otherwise) or make links and folders from the file attributes. So the container must read
one way only: entries back to back from byte 0, each local header saying what the
directory says, no data descriptor, no extra field, regular files only, the directory
right after the last entry and its end record (no ZIP64, no comment) ending the file. No
byte is left where another reader could find another file.
"""

from __future__ import annotations

import io
import stat
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
_END_RECORD = struct.Struct("<4s4H2LH")  # signature, disks, entries (twice), directory size and offset, comment
_END_SIGNATURE = b"PK\x05\x06"
# General-purpose flags an entry may carry: the deflate options (bits 1-2) and UTF-8 names
# (bit 11). Not encryption (0), nor a data descriptor (3): its sizes come after the data,
# where a streaming reader and the directory may disagree.
_ALLOWED_FLAGS = 0x0806
_DOS_DIRECTORY, _DOS_REPARSE_POINT = 0x10, 0x400  # a folder, a Windows link
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
    _check_layout(data, infos)
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


def _check_layout(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """Entries back to back from byte 0, each read the same from its local header as from
    the directory; the directory right after the last and its end record ending the file:
    no two entries share bytes, and no byte lies outside an entry for another reader."""
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset < end:
            raise PackageMalformed(f"{info.filename!r} overlaps another entry")
        if info.header_offset > end:
            raise PackageMalformed(f"bytes before {info.filename!r} belong to no entry")
        header = _local_header(data, info)
        _check_entry(info, header)
        end = info.header_offset + _LOCAL_HEADER.size + header[-2] + info.compress_size
    _check_end(data, len(infos), end)


def _check_entry(info: zipfile.ZipInfo, header: tuple) -> None:
    """The local header says what the directory says (zipfile itself compares only the
    name), with no data descriptor and no extra field; the entry is a regular file."""
    _, _, flags, method, _, _, crc, compressed, size, _, extra = header
    if flags & ~_ALLOWED_FLAGS or info.flag_bits & ~_ALLOWED_FLAGS:
        raise PackageMalformed(f"{info.filename!r} has a data descriptor or other unsupported flags")
    if (flags, method, crc, compressed, size) != (info.flag_bits, info.compress_type, info.CRC, info.compress_size,
                                                  info.file_size):
        raise PackageMalformed(f"{info.filename!r}: its local header and the directory disagree")
    if extra or info.extra or info.comment:
        raise PackageMalformed(f"{info.filename!r} has an extra field or a comment")
    unix_type = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
    if unix_type not in (0, stat.S_IFREG) or info.external_attr & (_DOS_DIRECTORY | _DOS_REPARSE_POINT):
        raise PackageMalformed(f"{info.filename!r} is not a regular file (a link or a folder)")


def _check_end(data: bytes, entries: int, directory_start: int) -> None:
    """The end record is the file's last bytes (no comment, no ZIP64) and names the one
    directory that starts at ``directory_start`` and ends where the record begins."""
    at = len(data) - _END_RECORD.size
    try:
        signature, disk, start_disk, here, total, size, offset, comment = _END_RECORD.unpack_from(data, at)
    except struct.error:
        raise PackageMalformed("the ZIP end record is missing") from None
    if signature != _END_SIGNATURE or comment:
        raise PackageMalformed("bytes follow the ZIP end record, or it has a comment")
    if (disk, start_disk, here, total, offset, offset + size) != (0, 0, entries, entries, directory_start, at):
        raise PackageMalformed("the ZIP directory is not where its end record says, or not all of it is read")


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
