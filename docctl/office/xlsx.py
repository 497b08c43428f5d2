"""Accept or refuse uploaded Excel workbooks, extract their text, and stamp their copies."""

from __future__ import annotations

import hashlib
import io
import posixpath
import warnings
import zipfile
from dataclasses import dataclass

from lxml import etree

from docctl.errors import UnsupportedFile
from docctl.office.docx import DEFAULT_MAX_ENTRIES, DEFAULT_MAX_UNCOMPRESSED
from docctl.office.safezip import CFB_MAGIC, Package, refuse, sniff
from docctl.office.stamp import StampInfo, mark_line, stamp_lines

__all__ = ["XlsxInfo", "inspect_xlsx", "stamp_xlsx"]

_OFFICE_DOCUMENT = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
                    "officeDocument")
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_TEMPLATE = "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"
_MACRO = ("application/vnd.ms-excel.sheet.macroenabled.main+xml",
          "application/vnd.ms-excel.template.macroenabled.main+xml",
          "application/vnd.ms-excel.addin.macroenabled.main+xml")
_VBA_TYPE = "application/vnd.ms-office.vbaproject"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
S = f"{{{_MAIN_NS}}}"
_SHEET_TYPES = (_REL + "worksheet", _REL + "chartsheet")
# Relationship kinds that pull data from elsewhere (formula links, data connections, OLE).
_PULLING = ("externalLink", "externalLinkPath", "connections", "queryTable", "oleObject",
            "package", "attachedTemplate")
MAX_TEXT = 5 * 1024 * 1024
# Excel refuses a header or footer longer than 255 characters (codes included).
HF_LIMIT = 255
# Elements a worksheet may hold after <headerFooter>, in schema order.
_AFTER_HF = ("rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors",
             "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF",
             "picture", "oleObjects", "controls", "webPublishItems", "tableParts", "extLst")
_CHART_AFTER_HF = ("drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture",
                   "webPublishItems", "extLst")
_VARIANTS = ("odd", "even", "first")


@dataclass(frozen=True)
class XlsxInfo:
    """What docctl keeps about an accepted workbook."""

    sha256: str
    size: int
    text: str
    sheets: tuple[str, ...]
    external_links: tuple[str, ...]   # hyperlinks only: links that pull data are refused


def _workbook(pkg: Package) -> str:
    """Find the workbook part and refuse anything but a plain macro-free workbook."""
    pkg.load_content_types()
    main_rel = next((r for r in pkg.relationships("") if r.type == _OFFICE_DOCUMENT), None)
    if main_rel is None or main_rel.external:
        refuse("not_excel", "The file is not an Excel workbook")
    main = pkg.resolve("", main_rel.target)
    if main is None:
        refuse("damaged", "The file is damaged or incomplete")
    kind = pkg.content_type(main)
    if (kind in _MACRO or any(posixpath.basename(k) == "vbaproject.bin" for k in pkg.members)
            or any(pkg.content_type(k) == _VBA_TYPE for k in pkg.members)):
        refuse("macro", "The workbook contains macros")
    if kind == _TEMPLATE:
        refuse("template", "The file is an Excel template")
    if kind != _WORKBOOK:
        refuse("not_excel", "The file is not an Excel workbook")
    return main


def _links(pkg: Package) -> tuple[str, ...]:
    """Refuse links that pull data from other files; return the plain hyperlinks."""
    if any(k.startswith("xl/externallinks/") for k in pkg.members) or \
            pkg.has("xl/connections.xml"):
        refuse("external_links", "The workbook links to other files or data sources")
    hyperlinks: dict[str, None] = {}
    for key in [k for k in pkg.members if k.endswith(".rels")]:
        for rel in pkg.relationships(_rels_source(key)):
            kind = rel.type.rsplit("/", 1)[-1]
            # Anything outside the package but a clickable hyperlink (a linked picture, an
            # OLE link) would be fetched by Excel when a copy is opened: refused.
            if kind in _PULLING or (rel.external and kind != "hyperlink"):
                refuse("external_links", "The workbook links to other files or data sources")
            if rel.external:
                hyperlinks.setdefault(rel.target, None)
    return tuple(hyperlinks)


def _rels_source(rels_key: str) -> str:
    folder, base = posixpath.split(rels_key)
    return posixpath.join(posixpath.dirname(folder), base[:-len(".rels")]).lstrip("/")


def _sheets(pkg: Package, main: str) -> list[tuple[str, str]]:
    """Return (name, part) of every sheet in workbook order."""
    targets = {r.id: pkg.resolve(main, r.target) for r in pkg.relationships(main)
               if r.type in _SHEET_TYPES and not r.external}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    out = []
    for sheet in pkg.tree(main).iter(S + "sheet"):
        part = targets.get(sheet.get(rid) or "")
        if part is not None:
            out.append((sheet.get("name") or "", part))
    return out


def _check(data: bytes, *, max_bytes: int, max_entries: int,
           max_uncompressed: int) -> tuple[Package, str, tuple[str, ...]]:
    if data.startswith(CFB_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            refuse("encrypted", "The workbook is password-protected")
        refuse("legacy_xls", "The file is an old binary Excel workbook (.xls)")
    sniff(data, max_bytes)
    pkg = Package(data, max_entries=max_entries, max_uncompressed=max_uncompressed)
    main = _workbook(pkg)
    links = _links(pkg)
    # Every part inflated through the counting reader, every XML part parsed without DTDs,
    # before openpyxl opens anything.
    pkg.read_all()
    return pkg, main, links


def inspect_xlsx(data: bytes, *, max_bytes: int, max_entries: int,
                 max_uncompressed: int) -> XlsxInfo:
    """Check that the bytes are an acceptable workbook and extract sheet names and cells."""
    pkg, main, links = _check(data, max_bytes=max_bytes, max_entries=max_entries,
                              max_uncompressed=max_uncompressed)
    names = tuple(name for name, _part in _sheets(pkg, main))
    return XlsxInfo(sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                    text=_text(data), sheets=names, external_links=links)


def _text(data: bytes) -> str:
    """Return sheet names and cell values, row by row (openpyxl, read-only, values only)."""
    import openpyxl  # here: only uploads and re-indexing of workbooks need it

    parts: list[str] = []
    total = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                          keep_links=False)
            try:
                for sheet in book.worksheets:
                    parts.append(sheet.title)
                    for row in sheet.iter_rows(values_only=True):
                        cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
                        if cells:
                            line = " ".join(cells)
                            total += len(line)
                            if total > MAX_TEXT:
                                return "\n".join(parts)
                            parts.append(line)
            finally:
                book.close()
    except UnsupportedFile:
        raise
    except Exception as exc:   # openpyxl raises many kinds on odd workbooks
        raise UnsupportedFile("The workbook is damaged or cannot be read",
                              reason="damaged", detail=type(exc).__name__) from exc
    return "\n".join(parts)


def extract_xlsx_text(data: bytes) -> str:
    """Extract the text of an already-accepted workbook."""
    return _text(data)


# -- stamping: the sheet XML is edited in place, so images, charts and styles stay as they
# were (openpyxl would drop images without Pillow and rewrite every style) --

def _hf_escape(text: str) -> str:
    return text.replace("&", "&&")


def _shorten(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    if keep < 8:
        return ""   # a few letters of a line say nothing: drop it
    cut = text[:max(keep - 1, 0)].rstrip()
    while cut.endswith("&") and not cut.endswith("&&"):   # never split an "&&" escape
        cut = cut[:-1]
    return cut + "…" if cut else ""


def hf_text(info: StampInfo, existing: str = "") -> str:
    """Return the header/footer string of a stamp, after any existing text kept whole.

    Excel allows 255 characters, so the stamp's lines are shortened in order of need: the
    "uncontrolled when printed" line first, then the title, the downloader line, the status
    line, the mark last.
    """
    lines = stamp_lines(info)
    mark = mark_line(info)
    rest = [line for line in lines if line != mark] + ["", "", "", ""]
    # Code first: a shortened line loses its end, and the code is what names the copy.
    rest[0] = " · ".join(part for part in (f"{info.code} — {info.title}", info.organisation)
                         if part.strip())
    # (text, priority: lower is shortened first, floor it may be cut to)
    pieces = [[_hf_escape(rest[0]), 2, 24], [_hf_escape(rest[1]), 4, 60],
              [_hf_escape(mark), 5, 40], [_hf_escape(rest[2]), 3, 40],
              [_hf_escape(rest[3]), 1, 0]]
    codes = len(existing) + len("&L&7\n&C&8&KC00000&R&7\n")
    for priority in (1, 2, 3, 4, 5, 6):
        for piece in pieces:
            over = codes + sum(len(p[0]) for p in pieces) - HF_LIMIT
            if over <= 0:
                break
            if piece[1] <= priority and len(piece[0]) > piece[2]:
                piece[0] = _shorten(piece[0], max(len(piece[0]) - over, piece[2]))
    if codes + sum(len(p[0]) for p in pieces) > HF_LIMIT:   # floors alone overflow
        for piece in sorted(pieces, key=lambda p: p[1]):
            over = codes + sum(len(p[0]) for p in pieces) - HF_LIMIT
            if over > 0:
                piece[0] = _shorten(piece[0], max(len(piece[0]) - over, 0))
    left = "\n".join(p[0] for p in pieces[:2] if p[0])
    right = "\n".join(p[0] for p in pieces[3:] if p[0])
    return f"{existing}&L&7{left}&C&8&KC00000{pieces[2][0]}&R&7{right}"


def _is_used(element) -> bool:
    return element is not None and bool((element.text or "").strip())


def _stamp_sheet(root, info: StampInfo, chart: bool) -> None:
    hf = root.find(S + "headerFooter")
    if hf is None:
        hf = etree.Element(S + "headerFooter")
        after = _CHART_AFTER_HF if chart else _AFTER_HF
        anchor = next((child for child in root if etree.QName(child).localname in after), None)
        if anchor is not None:
            anchor.addprevious(hf)
        else:
            root.append(hf)
    for variant in _VARIANTS:
        header = hf.find(S + f"{variant}Header")
        footer = hf.find(S + f"{variant}Footer")
        flag = {"even": "differentOddEven", "first": "differentFirst"}.get(variant)
        shown = flag is None or (hf.get(flag) or "").lower() in ("1", "true")
        if not shown and header is None and footer is None:
            continue   # those pages show the odd ones, stamped too
        # The header keeps what the agency put there (logo, name): the stamp then goes in
        # the footer; an empty header takes it.
        if not _is_used(header):
            target, existing = f"{variant}Header", ""
        else:
            target, existing = f"{variant}Footer", (footer.text or "") if footer is not None \
                else ""
        element = hf.find(S + target)
        if element is None:
            element = etree.SubElement(hf, S + target)
        element.text = hf_text(info, existing.strip())
    order = [f"{v}{p}" for v in _VARIANTS for p in ("Header", "Footer")]
    children = sorted(hf, key=lambda el: order.index(etree.QName(el).localname)
                      if etree.QName(el).localname in order else len(order))
    for child in children:
        hf.append(child)


def stamp_xlsx(data: bytes, info: StampInfo) -> bytes:
    """Return a stamped copy of an accepted workbook: the stamp on every sheet's header/footer."""
    # Checked again: "already accepted" is a claim about bytes read back from the store.
    # Sheets are inflated twice (once checked, once edited), hence twice the budget.
    pkg, main, _links = _check(data, max_bytes=max(len(data), 1),
                               max_entries=DEFAULT_MAX_ENTRIES,
                               max_uncompressed=2 * DEFAULT_MAX_UNCOMPRESSED)
    changed: dict[str, bytes] = {}
    for _name, part in _sheets(pkg, main):
        root = pkg.tree(part)
        _stamp_sheet(root, info, chart=etree.QName(root).localname == "chartsheet")
        changed[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                       standalone=True)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = changed.get(item.filename.lower())
            dst.writestr(item.filename, body if body is not None else src.read(item))
    return out.getvalue()
