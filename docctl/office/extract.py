"""Turn the WordprocessingML parts of an accepted package into plain text."""

from __future__ import annotations

import unicodedata

from lxml import etree

from docctl.office.safezip import Package

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
MATH = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
HEADER_REL = _REL + "header"
FOOTER_REL = _REL + "footer"
FOOTNOTES_REL = _REL + "footnotes"
ENDNOTES_REL = _REL + "endnotes"

# Subtrees that never hold visible text: deleted and moved-away revisions, field
# instructions, and property blocks (skipping them is also most of the speed).
_SKIP = frozenset(
    W + name
    for name in (
        "del", "delText", "delInstrText", "moveFrom", "instrText", "rPr", "pPr", "sdtPr",
        "sdtEndPr", "tblPr", "tblGrid", "trPr", "tcPr", "sectPr", "tblPrEx", "fldData",
    )
)
_TEXT = frozenset((W + "t", MATH + "t"))
_NEWLINE = frozenset((W + "br", W + "cr"))
_TAB = frozenset((W + "tab", W + "ptab"))
_TRUE = frozenset(("1", "true", "on"))

# Legacy FORMCHECKBOX fields have no result text; show their state like a typed box.
CHECKED = "\u2612"
UNCHECKED = "\u2610"


class _Walker:
    """Collect paragraphs of one or more parts, honouring fields and revisions."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._buf: list[str] = []
        # One entry per open complex field: True while in its instruction, False in its result.
        self._fields: list[bool] = []
        self._hidden = 0

    def part(self, root: etree._Element) -> None:
        """Walk one part; a field left open does not leak into the next part."""
        self._fields.clear()
        self._hidden = 0
        self._walk(root)
        if self._buf:
            self.lines.append("".join(self._buf))
            self._buf = []

    def _walk(self, el: etree._Element) -> None:
        for child in el:
            tag = child.tag
            if tag in _SKIP or not isinstance(tag, str):
                continue
            if tag in _TEXT:
                if child.text and not self._hidden:
                    self._buf.append(child.text)
            elif tag == W + "p":
                outer, self._buf = self._buf, []
                self._walk(child)
                self.lines.append("".join(self._buf))
                self._buf = outer
            elif tag in _TAB:
                if not self._hidden:
                    self._buf.append("\t")
            elif tag in _NEWLINE:
                if not self._hidden:
                    self._buf.append("\n")
            elif tag == W + "noBreakHyphen":
                if not self._hidden:
                    self._buf.append("-")
            elif tag == W + "fldChar":
                self._field(child)
            elif tag == MC + "AlternateContent":
                self._alternate(child)
            elif len(child):
                self._walk(child)

    def _field(self, el: etree._Element) -> None:
        kind = el.get(W + "fldCharType")
        if kind == "begin":
            box = el.find(f"{W}ffData/{W}checkBox")
            if box is not None and not self._hidden:
                self._buf.append(CHECKED if _checked(box) else UNCHECKED)
            self._fields.append(True)
            self._hidden += 1
        elif kind == "separate":
            if self._fields and self._fields[-1]:
                self._fields[-1] = False
                self._hidden -= 1
        elif kind == "end" and self._fields and self._fields.pop():
            self._hidden -= 1

    def _alternate(self, el: etree._Element) -> None:
        # The Fallback (usually VML) repeats the Choice's text boxes: read exactly one branch.
        choice = el.find(MC + "Choice")
        branch = choice if choice is not None else el.find(MC + "Fallback")
        if branch is not None:
            self._walk(branch)


def _checked(box: etree._Element) -> bool:
    """Return the state of a legacy form checkbox (w:checked wins over w:default)."""
    for name in ("checked", "default"):
        flag = box.find(W + name)
        if flag is not None:
            return (flag.get(W + "val") or "true").lower() in _TRUE
    return False


def story_parts(pkg: Package, main: str) -> list[str]:
    """Return header, note and footer part keys reachable from the main part, in text order."""
    root = pkg.tree(main)
    rels = {rel.id: rel for rel in pkg.relationships(main) if not rel.external}
    headers: list[str] = []
    footers: list[str] = []
    # Section references in document order cover every section and each variant
    # (default/first/even); a part shared by several sections is read once.
    for ref in root.iter(W + "headerReference", W + "footerReference"):
        rel = rels.get(ref.get(R + "id") or "")
        if rel is None or rel.type not in (HEADER_REL, FOOTER_REL):
            continue
        key = pkg.resolve(main, rel.target)
        bucket = headers if rel.type == HEADER_REL else footers
        if key and key not in headers and key not in footers:
            bucket.append(key)
    notes = []
    for kind in (FOOTNOTES_REL, ENDNOTES_REL):
        for rel in rels.values():
            key = pkg.resolve(main, rel.target) if rel.type == kind else None
            if key and key not in notes:
                notes.append(key)
    return headers + [main] + notes + footers


def package_text(pkg: Package, parts: list[str]) -> str:
    """Return the text of the given parts, NFC, one paragraph per line."""
    walker = _Walker()
    for key in parts:
        walker.part(pkg.tree(key))
    # Comments and the glossary (building blocks) are not part of the document's content.
    text = "\n".join(line for line in walker.lines if line.strip())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)
