"""Open an untrusted OOXML package: sniff its type, cap it, inflate it with counted bytes."""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from typing import NamedTuple, NoReturn
from urllib.parse import unquote

from lxml import etree

from docctl.errors import TooLarge, UnsupportedFile

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
RATIO_MIN_SIZE = 1024 * 1024
MAX_RATIO = 100
_OUT_CHUNK = 256 * 1024
_IN_CHUNK = 64 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"

CONTENT_TYPES = "[content_types].xml"
PACKAGE_RELS = "_rels/.rels"

_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"

# A DOCTYPE is never legitimate in OOXML. "<!DOCTYPE" interleaved with NUL bytes matches both
# UTF-16 byte orders; the parser check in parse_xml catches every other encoding.
_DOCTYPE = re.compile(
    re.escape(b"<!doctype") + b"|" + re.escape(b"\x00".join(bytes([c]) for c in b"<!doctype")),
    re.IGNORECASE,
)


class Relationship(NamedTuple):
    """One relationship of a part; external targets are only ever recorded."""

    id: str
    type: str
    target: str
    external: bool


def refuse(reason: str, message: str) -> NoReturn:
    """Raise UnsupportedFile with a reason from the office vocabulary."""
    raise UnsupportedFile(message, reason=reason)


def sniff(data: bytes, max_bytes: int) -> None:
    """Refuse empty, oversized and non-zip input by its bytes, never by its name."""
    if not data:
        refuse("empty", "The file is empty")
    if len(data) > max_bytes:
        raise TooLarge(
            f"The file is larger than {max_bytes} bytes",
            reason="too_large", size=len(data), limit=max_bytes,
        )
    if data.startswith(CFB_MAGIC):
        # An encrypted .docx is a CFB container holding EncryptionInfo + EncryptedPackage.
        if "EncryptionInfo".encode("utf-16-le") in data:
            refuse("encrypted", "The document is password-protected")
        if "WordDocument".encode("utf-16-le") in data:
            refuse("legacy_doc", "The file is an old binary Word document (.doc)")
        refuse("not_word", "The file is an Office binary file but not a Word document")
    if not data.startswith(ZIP_MAGIC):
        refuse("not_word", "The file is not a Word document")


def _eocd_entry_count(data: bytes) -> int | None:
    """Return the entry count the end-of-central-directory record claims, if readable."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if pos < 0 or pos + 22 > len(data):
        return None
    count = struct.unpack_from("<H", data, pos + 10)[0]
    if count != 0xFFFF:
        return count
    loc = data[pos - 20:pos] if pos >= 20 else b""
    if not loc.startswith(b"PK\x06\x07"):
        return None
    offset = struct.unpack_from("<Q", loc, 8)[0]
    if data[offset:offset + 4] != b"PK\x06\x06" or offset + 40 > len(data):
        return None
    return struct.unpack_from("<Q", data, offset + 32)[0]


def member_names(data: bytes, max_entries: int) -> frozenset[str] | None:
    """Return a zip's member names, lower-cased, from its central directory (nothing is
    inflated); None when it claims too many entries or cannot be read."""
    claimed = _eocd_entry_count(data)
    if claimed is None or claimed > max_entries:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return frozenset(info.filename.lower() for info in zf.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
            NotImplementedError, struct.error):
        return None


def parse_xml(raw: bytes, name: str) -> etree._Element:
    """Parse one XML part without DTDs, entities or network access."""
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )
    try:
        root = etree.fromstring(raw, parser)
    except (etree.XMLSyntaxError, ValueError):
        refuse("damaged", f"The part {name} is not well-formed XML")
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        refuse("dtd", f"The part {name} declares a DTD")
    return root


class Package:
    """A zip container read once, every member inflated through a counting reader."""

    def __init__(self, data: bytes, *, max_entries: int, max_uncompressed: int):
        self._data = data
        self._max_uncompressed = max_uncompressed
        self._inflated = 0
        claimed = _eocd_entry_count(data)
        if claimed is not None and claimed > max_entries:
            refuse("too_many_entries", f"The file has more than {max_entries} parts")
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
                NotImplementedError, struct.error):
            refuse("damaged", "The file is damaged or incomplete")
        if len(infos) > max_entries:
            refuse("too_many_entries", f"The file has more than {max_entries} parts")
        # Member names are only ever used as lookup keys: nothing is extracted to disk, so
        # absolute or "../" names cannot escape anywhere. OPC part names are case-insensitive.
        self.members: dict[str, zipfile.ZipInfo] = {}
        declared = 0
        for info in infos:
            if info.is_dir():
                continue
            key = info.filename.lower()
            if key in self.members:
                refuse("damaged", "The file holds two parts with the same name")
            self.members[key] = info
            declared += info.file_size
            if (info.file_size >= RATIO_MIN_SIZE
                    and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                refuse("zip_bomb", "A part of the file expands too much")
        if declared > max_uncompressed:
            refuse("zip_bomb", "The file expands to more than the allowed size")
        self.entries = len(infos)
        self._done: set[str] = set()
        self._trees: dict[str, etree._Element] = {}
        self.defaults: dict[str, str] = {}
        self.overrides: dict[str, str] = {}

    def has(self, name: str) -> bool:
        """Tell whether a part exists (case-insensitively)."""
        return name.lower() in self.members

    def read(self, name: str, *, keep: bool = True) -> bytes | None:
        """Inflate one member, counting the bytes actually produced, and check its CRC."""
        key = name.lower()
        info = self.members[key]
        self._done.add(key)
        produced = 0
        crc = 0
        parts: list[bytes] = []
        for chunk in self._chunks(info):
            produced += len(chunk)
            self._inflated += len(chunk)
            # Headers may lie, so count the bytes actually inflated. Stopping one chunk past
            # the declared size bounds a lying member; the total and ratio checks then repeat
            # the declared-size checks against real bytes.
            if produced > info.file_size:
                refuse("zip_bomb", "A part of the file expands beyond its declared size")
            if self._inflated > self._max_uncompressed:
                refuse("zip_bomb", "The file expands to more than the allowed size")
            if produced >= RATIO_MIN_SIZE and produced > MAX_RATIO * max(info.compress_size, 1):
                refuse("zip_bomb", "A part of the file expands too much")
            crc = zlib.crc32(chunk, crc)
            if keep:
                parts.append(chunk)
        if produced != info.file_size or crc != info.CRC:
            refuse("damaged", "The file is damaged or incomplete")
        if not keep:
            return None
        raw = b"".join(parts)
        if self.is_xml(key) and _DOCTYPE.search(raw):
            refuse("dtd", f"The part {info.filename} declares a DTD")
        return raw

    def _chunks(self, info: zipfile.ZipInfo):
        """Yield the inflated bytes of a member straight from its local header."""
        if info.flag_bits & 0x1:
            refuse("encrypted", "The document is password-protected")
        off = info.header_offset
        header = self._data[off:off + 30]
        if len(header) < 30 or not header.startswith(ZIP_MAGIC):
            refuse("damaged", "The file is damaged or incomplete")
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        start = off + 30 + name_len + extra_len
        end = start + info.compress_size
        if end > len(self._data):
            refuse("damaged", "The file is damaged or incomplete")
        raw = memoryview(self._data)[start:end]
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                refuse("damaged", "The file is damaged or incomplete")
            for pos in range(0, len(raw), _OUT_CHUNK):
                yield bytes(raw[pos:pos + _OUT_CHUNK])
            return
        if info.compress_type != zipfile.ZIP_DEFLATED:
            refuse("damaged", "The file uses a compression Word does not write")
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            # Feed small input slices and cap each output so one call never balloons.
            for pos in range(0, len(raw), _IN_CHUNK):
                pending = raw[pos:pos + _IN_CHUNK]
                while not inflater.eof:
                    out = inflater.decompress(pending, _OUT_CHUNK)
                    pending = inflater.unconsumed_tail
                    if out:
                        yield out
                    elif not pending:
                        break
                if inflater.eof:
                    break
        except zlib.error:
            refuse("damaged", "The file is damaged or incomplete")
        if not inflater.eof:
            refuse("damaged", "The file is damaged or incomplete")

    def tree(self, name: str, *, keep: bool = True) -> etree._Element:
        """Return the parsed root of an XML part, parsing it once when kept."""
        key = name.lower()
        if key in self._trees:
            return self._trees[key]
        root = parse_xml(self.read(key), self.members[key].filename)
        if keep:
            self._trees[key] = root
        return root

    def read_all(self) -> None:
        """Inflate every member not read yet: caps, CRCs and DTD checks cover the package."""
        for key in self.members:
            if key in self._done:
                continue
            if self.is_xml(key):
                # Every XML part must parse, not just the ones we take text from: stamping a
                # controlled copy loads them too. Trees of parts we don't need are dropped.
                self.tree(key, keep=key.endswith(".rels"))
            else:
                self.read(key, keep=False)

    def load_content_types(self) -> None:
        """Read [Content_Types].xml; a zip without it is not an Office document."""
        if not self.has(CONTENT_TYPES):
            refuse("not_word", "The file is a zip archive, not a Word document")
        root = self.tree(CONTENT_TYPES)
        for el in root:
            if el.tag == _CT_NS + "Default":
                ext = (el.get("Extension") or "").lower()
                self.defaults[ext] = (el.get("ContentType") or "").lower()
            elif el.tag == _CT_NS + "Override":
                part = (el.get("PartName") or "").lstrip("/").lower()
                self.overrides[part] = (el.get("ContentType") or "").lower()

    def content_type(self, name: str) -> str:
        """Return the declared content type of a part, lower-cased, or ''."""
        key = name.lower()
        if key in self.overrides:
            return self.overrides[key]
        if unquote(key) in self.overrides:
            return self.overrides[unquote(key)]
        return self.defaults.get(posixpath.splitext(key)[1].lstrip("."), "")

    def is_xml(self, name: str) -> bool:
        """Tell whether a part holds XML, by name or declared content type."""
        key = name.lower()
        if key.endswith((".xml", ".rels")):
            return True
        ct = self.content_type(key)
        return ct.endswith("+xml") or ct in ("application/xml", "text/xml")

    def resolve(self, source: str, target: str) -> str | None:
        """Return the member key a relative relationship target points to, if present."""
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
        for candidate in (path.lower(), unquote(path).lower()):
            if candidate in self.members:
                return candidate
        return None

    def relationships(self, source: str) -> list[Relationship]:
        """Return the relationships of a part ('' for the package) as plain dicts."""
        if source:
            folder, base = posixpath.split(source)
            rels = posixpath.join(folder, "_rels", base + ".rels")
        else:
            rels = PACKAGE_RELS
        if not self.has(rels):
            return []
        return [
            Relationship(
                el.get("Id") or "", el.get("Type") or "", el.get("Target") or "",
                (el.get("TargetMode") or "").lower() == "external",
            )
            for el in self.tree(rels).iter(_RELS_NS + "Relationship")
        ]

    def external_targets(self) -> tuple[str, ...]:
        """List TargetMode="External" targets of every relationship part (never fetched)."""
        found: dict[str, None] = {}
        for key in self.members:
            if not key.endswith(".rels"):
                continue
            for el in self.tree(key).iter(_RELS_NS + "Relationship"):
                if (el.get("TargetMode") or "").lower() == "external":
                    found.setdefault(el.get("Target") or "", None)
        return tuple(found)
