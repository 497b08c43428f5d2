"""Make a .docx self-contained: drop every reference that would make a reader fetch something."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

from lxml import etree

from docctl.office.docx import DEFAULT_MAX_ENTRIES, DEFAULT_MAX_UNCOMPRESSED
from docctl.office.safezip import Package

__all__ = ["FETCHING_FIELDS", "strip_external"]

_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_O = "urn:schemas-microsoft-com:office:office"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Field codes that read another file or URL when a document is opened or its fields update.
FETCHING_FIELDS = frozenset(("INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "LINK", "IMPORT",
                             "DDE", "DDEAUTO", "DATABASE", "AUTOTEXTLIST"))
# Elements whose only purpose is to pull something from outside the package.
_DROP = frozenset((W + "attachedTemplate", W + "mailMerge", W + "frameset"))
# src="http://…", href="\\server\share", file:/… : any scheme or UNC/absolute path.
_OUTSIDE = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|\\\\|/)", re.IGNORECASE)


def _source_of(rels_key: str) -> str:
    """Return the part a .rels member describes ('' for the package)."""
    folder, base = posixpath.split(rels_key)
    return posixpath.join(posixpath.dirname(folder), base[:-len(".rels")]) if folder != "_rels" \
        else ""


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _keyword(instruction: str) -> str:
    return (instruction.split() or [""])[0].upper()


def _neuter_fields(root: etree._Element) -> bool:
    """Blank the instructions of fetching fields; their last shown result stays as text."""
    changed = False
    for simple in list(root.iter(W + "fldSimple")):
        if _keyword(simple.get(W + "instr") or "") in FETCHING_FIELDS:
            parent = simple.getparent()
            at = parent.index(simple)
            for offset, child in enumerate(list(simple)):
                parent.insert(at + offset, child)   # keep the result runs, lose the field
            parent.remove(simple)
            changed = True
    # Complex fields nest and their keyword may be split across runs ("INCLUDE" "PICTURE"):
    # gather each field's whole instruction before judging it.
    stack: list[list[etree._Element]] = []
    for el in root.iter(W + "fldChar", W + "instrText"):
        if el.tag == W + "instrText":
            if stack:
                stack[-1].append(el)
            continue
        kind = el.get(W + "fldCharType")
        if kind == "begin":
            stack.append([])
        elif kind in ("separate", "end") and stack:
            parts = stack[-1]
            if parts and _keyword("".join(p.text or "" for p in parts)) in FETCHING_FIELDS:
                for part in parts:
                    part.text = ""
                changed = True
            stack[-1] = []
            if kind == "end":
                stack.pop()
    return changed


def _clean_part(root: etree._Element, dropped_ids: set[str]) -> bool:
    """Remove references to dropped relationships and to anything outside; tell if changed."""
    changed = _neuter_fields(root)
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if el.tag in _DROP or (el.tag == f"{{{_O}}}OLEObject" and el.get("Type") == "Link"):
            el.getparent().remove(el)
            changed = True
            continue
        for name, value in list(el.attrib.items()):
            namespace, _, local = name.rpartition("}")
            namespace = namespace.lstrip("{")
            if ((namespace in (_R, _O) and value in dropped_ids)
                    or (local.lower() in ("src", "href") and _OUTSIDE.match(value))):
                del el.attrib[name]
                changed = True
    return changed


def strip_external(data: bytes, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                   max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED) -> bytes:
    """Return the package with every external relationship, link and fetching field removed."""
    pkg = Package(data, max_entries=max_entries, max_uncompressed=max_uncompressed)
    pkg.load_content_types()
    replaced: dict[str, bytes] = {}
    dropped: dict[str, set[str]] = {}
    for key in pkg.members:
        if not key.endswith(".rels"):
            continue
        root = pkg.tree(key)
        gone = [el for el in root.iter(_RELS_NS + "Relationship")
                if (el.get("TargetMode") or "").lower() == "external"]
        if gone:
            dropped[_source_of(key)] = {el.get("Id") or "" for el in gone}
            for el in gone:
                root.remove(el)
            replaced[key] = _serialize(root)
    for key in pkg.members:
        if key.endswith(".rels") or not pkg.is_xml(key) or key == "[content_types].xml":
            continue
        root = pkg.tree(key, keep=False)
        if _clean_part(root, dropped.get(key, set())):
            replaced[key] = _serialize(root)
    if not replaced:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            key = info.filename.lower()
            # Package capped the declared sizes; zipfile never inflates a member past its
            # declared size and checks its CRC.
            body = replaced.get(key) if key in replaced else src.read(info)
            dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
