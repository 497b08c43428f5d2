"""Read legacy OLE2 files: tell a .doc from other compound files, and convert it to .docx."""

from __future__ import annotations

import struct

from docctl.errors import DocctlError, UnsupportedFile
from docctl.office import pdf
from docctl.office.safezip import CFB_MAGIC

__all__ = ["ConversionTimeout", "LegacyUnavailable", "convert_doc", "ole_kind"]

# LibreOffice's Word 2007–365 export filter: a plain .docx (never .docm: macros are dropped).
_DOCX_FILTER = "docx:MS Word 2007 XML"
_DIR_ENTRY = 128


class LegacyUnavailable(UnsupportedFile):
    """Legacy .doc files need LibreOffice, which is not installed on this server."""

    code = "legacy_unavailable"


class ConversionTimeout(DocctlError):
    """Converting the .doc took longer than allowed and was stopped."""

    status = 504
    code = "conversion_timeout"


class ConversionBusy(DocctlError):
    """Other conversions are running; try again in a moment."""

    status = 503
    code = "conversion_busy"


def _stream_names(data: bytes) -> set[str]:
    """Return the names of the compound file's directory entries.

    Without olefile, a directory entry is recognised where it must sit: at a 128-byte
    boundary after the header sector, a UTF-16LE name, NUL-terminated, whose byte length
    (terminator included) is stored at offset 64. Walking the FAT would find the same
    entries; this cannot be fooled into missing one, only (absurdly) into seeing an extra.
    """
    if len(data) < 512 or not data.startswith(CFB_MAGIC):
        return set()
    shift = struct.unpack_from("<H", data, 30)[0]
    sector = 1 << shift if shift in (9, 12) else 512
    names: set[str] = set()
    for offset in range(sector, len(data) - _DIR_ENTRY + 1, _DIR_ENTRY):
        length = struct.unpack_from("<H", data, offset + 64)[0]
        kind = data[offset + 66]
        if not 2 < length <= 64 or length % 2 or kind not in (1, 2, 5):
            continue
        raw = data[offset:offset + length]
        if raw[-2:] != b"\0\0":
            continue
        try:
            name = raw[:-2].decode("utf-16-le")
        except UnicodeDecodeError:
            continue
        if name and name.isprintable() or name.startswith(("\x01", "\x05")):
            names.add(name)
    return names


def ole_kind(data: bytes) -> str:
    """Tell what a compound file holds: doc, doc_macro, encrypted, xls, or other."""
    names = _stream_names(data)
    # An encrypted .docx/.xlsx is an OLE file holding the encrypted package.
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        return "encrypted"
    if "WordDocument" in names:
        # Word keeps a .doc's VBA project in a "Macros" storage holding "_VBA_PROJECT".
        if {"Macros", "_VBA_PROJECT", "VBA"} & names:
            return "doc_macro"
        return "doc"
    if "Workbook" in names or "Book" in names:
        return "xls"
    return "other"


def is_encrypted_doc(data: bytes) -> bool:
    """Tell whether a .doc's File Information Block says it is encrypted (fEncrypted)."""
    # The WordDocument stream's first sector is not located without the FAT; its FIB starts
    # with wIdent 0xA5EC, and fEncrypted is bit 8 of the flags word at offset 10.
    pos = data.find(b"\xec\xa5", 512)
    while pos >= 0:
        if pos % 512 == 0 and pos + 12 <= len(data):
            flags = struct.unpack_from("<H", data, pos + 10)[0]
            return bool(flags & 0x0100)
        pos = data.find(b"\xec\xa5", pos + 1)
    return False


def convert_doc(data: bytes, *, soffice: str | None = None, profile_dir: str | None = None,
                timeout: float = pdf.DEFAULT_TIMEOUT) -> bytes:
    """Convert .doc bytes to .docx bytes with a headless LibreOffice, offline and time-limited."""
    command = pdf.find_soffice(soffice)
    if command is None:
        raise LegacyUnavailable("install LibreOffice (libreoffice-writer-nogui) to accept "
                                ".doc files")
    try:
        return pdf.convert(data, suffix="doc", target=_DOCX_FILTER, soffice=command,
                           profile_dir=profile_dir, timeout=timeout)
    except pdf.RenditionTimeout as exc:
        raise ConversionTimeout(f"Converting the .doc took longer than {timeout:.0f} s "
                                "and was stopped") from exc
    except pdf.RenditionBusy as exc:
        raise ConversionBusy("Another conversion is taking too long") from exc
    except pdf.RenditionFailed as exc:
        raise UnsupportedFile("LibreOffice could not convert this .doc file",
                              reason="conversion_failed") from exc
