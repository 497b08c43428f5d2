"""Document types, code patterns and revision labels."""

import re
from enum import StrEnum


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


def _numbers_after(prefix: str, codes: list[str]) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)$", re.IGNORECASE)
    return [int(m.group(1)) for code in codes if (m := pattern.match(code))]


def propose_code(doc_type: str, existing: list[str], parent_code: str | None = None) -> str:
    """Propose the next free code of a type (QT-01; BM-01-02 under QT-01)."""
    kind = DocType(doc_type)
    prefix = PREFIX[kind]
    if parent_code and kind in PARENT_TYPES:
        parent_tail = parent_code.split("-", 1)[1] if "-" in parent_code else parent_code
        prefix = f"{prefix}-{parent_tail}"
    taken = {code.upper() for code in existing}
    number = max(_numbers_after(prefix, existing), default=0) + 1
    while f"{prefix}-{number:02d}".upper() in taken:
        number += 1
    return f"{prefix}-{number:02d}"


def revision_label(number: int) -> str:
    """Return the two-digit label agencies print (01, 02, ...)."""
    return f"{number:02d}"


def parent_allowed(doc_type: str, parent_type: str | None) -> bool:
    """Tell whether a document of doc_type may hang under parent_type."""
    if parent_type is None:
        return True
    allowed = PARENT_TYPES.get(DocType(doc_type))
    return bool(allowed) and DocType(parent_type) in allowed
