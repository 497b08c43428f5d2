"""Document types, code patterns and revision labels."""

import re
from enum import StrEnum

from docctl.domain.textfold import fold


class DocType(StrEnum):
    """Kinds of controlled documents, in the order a register lists them."""

    MANUAL = "manual"
    POLICY = "policy"
    OBJECTIVE = "objective"
    PROCEDURE = "procedure"
    INSTRUCTION = "instruction"
    FORM = "form"
    EXTERNAL = "external"


# Folder under documents/ and the code prefix each type proposes.
PREFIX: dict[DocType, str] = {
    DocType.MANUAL: "STCL",
    DocType.POLICY: "CSCL",
    DocType.OBJECTIVE: "MTCL",
    DocType.PROCEDURE: "QT",
    DocType.INSTRUCTION: "HD",
    DocType.FORM: "BM",
    DocType.EXTERNAL: "TLBN",
}

# Types whose documents may hang under a parent, and the parent types they accept.
PARENT_TYPES: dict[DocType, frozenset[DocType]] = {
    DocType.FORM: frozenset({DocType.PROCEDURE, DocType.INSTRUCTION}),
    DocType.INSTRUCTION: frozenset({DocType.PROCEDURE}),
    DocType.OBJECTIVE: frozenset({DocType.POLICY}),
}


_SEPARATORS = "-._/ "
_SPLIT = re.compile(r"([-._/ ]+)")


def prefix_for(doc_type: str, patterns: dict[str, str] | None = None) -> str:
    """Return the code prefix a type proposes: the organisation's own, else the default."""
    kind = DocType(doc_type)
    own = ((patterns or {}).get(kind.value) or "").strip()
    return own if own and not has_blank(own) else PREFIX[kind]


def has_blank(text: str) -> bool:
    """Tell whether text holds a character unfit for a code prefix (spaces, slashes)."""
    return any(ch.isspace() or ch == "/" for ch in text)


def _base(prefix: str, parent_code: str | None, parent_prefixes: set[str]) -> tuple[str, str]:
    """Return (stem, separator) a proposed code is built from: stem + sep + number."""
    if prefix[-1] in _SEPARATORS:
        prefix, own_sep = prefix.rstrip(_SEPARATORS), prefix[-1]
    else:
        own_sep = ""
    if not parent_code:
        return prefix, own_sep or "-"
    parts = _SPLIT.split(parent_code.strip())
    seps = parts[1::2]
    parent_sep = seps[0][0] if seps else "-"
    if len(parts) > 1 and fold(parts[0]) in parent_prefixes:
        # QT-03 → BM-03-nn, QT.03 → BM.03.nn: the parent's tail under the child's prefix.
        return prefix + "".join(parts[1:]), own_sep or parent_sep
    # The parent's own scheme (PGL-TT21): the child's prefix follows it, number attached.
    return f"{parent_code.strip()}{parent_sep}{prefix}", own_sep


def propose_code(doc_type: str, existing: list[str], parent_code: str | None = None,
                 patterns: dict[str, str] | None = None) -> str:
    """Propose the next free code of a type (QT-01; BM-01-02 under QT-01; PGL-TT21-BM01)."""
    kind = DocType(doc_type)
    prefix = prefix_for(kind, patterns)
    parent_prefixes = {fold(prefix_for(t, patterns).rstrip(_SEPARATORS)) for t in DocType}
    parent_prefixes |= {fold(p) for p in PREFIX.values()}
    if not (parent_code and kind in PARENT_TYPES):
        parent_code = None
    stem, sep = _base(prefix, parent_code, parent_prefixes)
    # Compare folded and separator-blind: qt-01, QT.01 and QT01 all take number 1.
    pattern = re.compile(rf"^{_loose(stem)}[-._/ ]*(\d+)$")
    taken = {_key(code) for code in existing}
    numbers = [int(m.group(1)) for code in existing if (m := pattern.match(fold(code)))]
    number = max(numbers, default=0) + 1
    while _key(f"{stem}{sep}{number:02d}") in taken:
        number += 1
    return f"{stem}{sep}{number:02d}"


def _loose(stem: str) -> str:
    """Return a regex matching a folded stem whatever separators it is written with."""
    pieces = [re.escape(p) for p in _SPLIT.split(fold(stem))[::2] if p]
    return "[-._/ ]*".join(pieces)


def _key(code: str) -> str:
    return re.sub(r"[-._/\s]+", "", fold(code))


def revision_label(number: int) -> str:
    """Return the two-digit label agencies print (01, 02, ...)."""
    return f"{number:02d}"


def parent_allowed(doc_type: str, parent_type: str | None) -> bool:
    """Tell whether a document of doc_type may hang under parent_type."""
    if parent_type is None:
        return True
    allowed = PARENT_TYPES.get(DocType(doc_type))
    return bool(allowed) and DocType(parent_type) in allowed
