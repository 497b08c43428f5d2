"""Accept or refuse uploaded Word documents and extract their text."""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass

from docctl.office.extract import W, package_text, story_parts
from docctl.office.generate import build_docx
from docctl.office.safezip import Package, refuse, sniff

__all__ = ["DocxInfo", "build_docx", "extract_text", "inspect_docx"]

_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_STRICT_PREFIX = "http://purl.oclc.org/ooxml/"
_STRICT_OFFICE_DOCUMENT = _STRICT_PREFIX + "officeDocument/relationships/officeDocument"
_VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"

_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_MACRO_DOCUMENT = "application/vnd.ms-word.document.macroenabled.main+xml"
_TEMPLATE = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
_MACRO_TEMPLATE = "application/vnd.ms-word.template.macroenabledtemplate.main+xml"
_VBA_TYPE = "application/vnd.ms-office.vbaproject"

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 2000
DEFAULT_MAX_UNCOMPRESSED = 200 * 1024 * 1024


@dataclass(frozen=True)
class DocxInfo:
    """What docctl keeps about an accepted Word document."""

    sha256: str
    size: int
    text: str
    entries: int
    external_links: tuple[str, ...]


def _main_part(pkg: Package) -> str:
    """Find the main document part and refuse anything but a plain Word document."""
    pkg.load_content_types()
    rels = pkg.relationships("")
    if any(rel.type == _STRICT_OFFICE_DOCUMENT for rel in rels):
        refuse("strict", "The document is saved as Strict Open XML")
    main_rel = next((rel for rel in rels if rel.type == _OFFICE_DOCUMENT), None)
    if main_rel is None or main_rel.external:
        refuse("not_word", "The file is not a Word document")
    main = pkg.resolve("", main_rel.target)
    if main is None:
        refuse("damaged", "The file is damaged or incomplete")
    kind = pkg.content_type(main)
    macro = (
        kind in (_MACRO_DOCUMENT, _MACRO_TEMPLATE)
        or any(posixpath.basename(key) == "vbaproject.bin" for key in pkg.members)
        or any(pkg.content_type(key) == _VBA_TYPE for key in pkg.members)
        or any(rel.type == _VBA_REL for rel in pkg.relationships(main))
    )
    if kind not in (_DOCUMENT, _MACRO_DOCUMENT, _TEMPLATE, _MACRO_TEMPLATE):
        refuse("not_word", "The file is not a Word document")
    if macro:
        refuse("macro", "The document contains macros")
    if kind == _TEMPLATE:
        refuse("template", "The file is a Word template")
    return main


def _inspect(data: bytes, *, max_bytes: int, max_entries: int,
             max_uncompressed: int) -> tuple[Package, list[str]]:
    """Run every check; return the package and the parts whose text we extract, in order."""
    sniff(data, max_bytes)
    pkg = Package(data, max_entries=max_entries, max_uncompressed=max_uncompressed)
    main = _main_part(pkg)
    root = pkg.tree(main)
    namespace = root.tag.partition("}")[0].lstrip("{")
    if namespace.startswith(_STRICT_PREFIX):
        refuse("strict", "The document is saved as Strict Open XML")
    if root.tag != W + "document":
        refuse("not_word", "The file is not a Word document")
    # Parse the text parts first so their trees are kept; read_all then streams the rest.
    parts = story_parts(pkg, main)
    for key in parts:
        pkg.tree(key)
    pkg.read_all()
    return pkg, parts


def inspect_docx(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_entries: int = DEFAULT_MAX_ENTRIES,
                 max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED) -> DocxInfo:
    """Check that the bytes are an acceptable Word document and extract its text."""
    pkg, parts = _inspect(data, max_bytes=max_bytes, max_entries=max_entries,
                          max_uncompressed=max_uncompressed)
    return DocxInfo(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        text=package_text(pkg, parts),
        entries=pkg.entries,
        external_links=pkg.external_targets(),
    )


def extract_text(data: bytes) -> str:
    """Extract the text of an already-accepted .docx."""
    # The size was vetted at upload under whatever cap was configured then; every other
    # check still runs, because "already accepted" is a claim about bytes read back from disk.
    pkg, parts = _inspect(data, max_bytes=max(len(data), 1), max_entries=DEFAULT_MAX_ENTRIES,
                          max_uncompressed=DEFAULT_MAX_UNCOMPRESSED)
    return package_text(pkg, parts)
