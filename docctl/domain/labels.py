"""Issue and amendment labels: how agencies print them, and reading them back."""

import re
from enum import StrEnum

from docctl.domain.textfold import fold


class LabelFormat(StrEnum):
    """How an organisation prints a revision's issue (Lần ban hành) and amendment (sửa đổi)."""

    PLAIN = "plain"   # 03; 03.01 once amended
    DOT = "dot"       # 03.00, 03.01
    SLASH = "slash"   # 03/00, 03/01
    SD = "sd"         # 03; 03sđ01 once amended
    LONG = "long"     # Lần ban hành: 03; Lần ban hành: 03 - Lần sửa đổi: 01


class Change(StrEnum):
    """What an uploaded revision does to the numbers."""

    AMENDMENT = "amendment"   # sửa đổi: issue kept, amendment + 1
    REISSUE = "reissue"       # ban hành lại: issue + 1, amendment 0


DEFAULT_FORMAT = LabelFormat.PLAIN
ISSUE_MAX = 99


def format_label(issue: int, amendment: int = 0, fmt: str = DEFAULT_FORMAT) -> str:
    """Return the label a person reads for an issue and amendment, in the chosen format."""
    fmt = LabelFormat(fmt) if fmt in LabelFormat._value2member_map_ else DEFAULT_FORMAT
    i, a = f"{issue:02d}", f"{amendment:02d}"
    if fmt is LabelFormat.DOT:
        return f"{i}.{a}"
    if fmt is LabelFormat.SLASH:
        return f"{i}/{a}"
    if fmt is LabelFormat.SD:
        return f"{i}sđ{a}" if amendment else i
    if fmt is LabelFormat.LONG:
        return f"Lần ban hành: {i} - Lần sửa đổi: {a}" if amendment else f"Lần ban hành: {i}"
    return f"{i}.{a}" if amendment else i


def next_numbers(issue: int, amendment: int, change: str) -> tuple[int, int]:
    """Return (issue, amendment) of the revision after one at (issue, amendment)."""
    if Change(change) is Change.AMENDMENT:
        return issue, amendment + 1
    return issue + 1, 0


# Spelled-out forms: "Lần ban hành: 03 - Lần sửa đổi: 01", "Lần ban hành 03, lần sửa đổi 01".
_LONG_ISSUE = re.compile(r"lan\s*ban\s*hanh\s*[:.]?\s*(\d{1,2})\b")
_LONG_AMENDMENT = re.compile(r"lan\s*sua\s*doi\s*[:.]?\s*(\d{1,2})\b")
# Compact forms: 03, 03.01, 03/01, 03-01, 03sđ01, 03 sđ 01, 03SĐ01.
_COMPACT = re.compile(r"^(\d{1,2})(?:\s*(?:[./-]|sd)\s*(\d{1,2}))?$")


def parse_label(text: str | None) -> tuple[int, int | None] | None:
    """Read (issue, amendment or None) from a printed label in any of its spellings."""
    folded = " ".join(fold(text or "").split())
    if not folded:
        return None
    issue = _LONG_ISSUE.search(folded)
    if issue:
        amendment = _LONG_AMENDMENT.search(folded)
        return int(issue.group(1)), int(amendment.group(1)) if amendment else None
    compact = _COMPACT.match(folded)
    if compact:
        return int(compact.group(1)), int(compact.group(2)) if compact.group(2) else None
    return None
