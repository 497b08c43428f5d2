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


# The label grammar runs on folded text (fold(): no diacritics, đ→d, lower case), so "Lần sửa
# đổi", "Lan sua doi" and "LẦN SỬA ĐỔI" read alike. A label is followed by an optional colon,
# "là" or "thứ", then its number; a number followed by /mm/yyyy is a date, never a label.
_SEP = r"\s*(?:[:：=]|\.(?!\d))?\s*(?:(?:la|thu|so|no\.?)\s+)?"
_NUM = r"(\d{1,2})(?![\d])"
_NOT_DATE = r"(?!\s*[./-]\s*\d{1,2}\s*[./-]\s*\d)"
_PAIR = r"(\d{1,2})\s*(?:[./-]|sd)\s*(\d{1,2})(?![./-]?\d)"
ISSUE_LABEL = (r"(?:\blan\s*ban\s*hanh|\bban\s*hanh\s*lan|\blan\s*bh\b|\bbh\b"
                r"|\bissue(?:\s*(?:no\.?|number))?|\brev(?:ision)?\b\.?(?:\s*no\.?)?"
                r"|\bphien\s*ban|\bedition)")
AMENDMENT_LABEL = (r"(?:\blan\s*sua\s*doi|\blan\s*sua\b|\bsua\s*doi(?:\s*lan)?|\bsd\b"
                    r"|\bamendment(?:\s*(?:no\.?|number))?|\bamend\b\.?)")
# "Lần/Số soát xét" counts amendments within an issue (GLOSSARY: Lần sửa đổi, also Số soát
# xét); printed alone it still says nothing about the issue.
REVIEW_LABEL = r"(?:\b(?:lan|so)\s*soat\s*xet)"
# "Lần ban hành/sửa đổi: 03/01", "Lần BH/SĐ: 03-01", "Issue/Amendment: 3.1".
_BOTH = re.compile(
    rf"(?:\blan\s*ban\s*hanh|\blan\s*bh\b|\bbh\b|\bissue)\s*[/-]\s*(?:lan\s*)?"
    rf"(?:sua\s*doi|sua\b|sd\b|amendment|rev(?:ision)?\b|soat\s*xet){_SEP}{_PAIR}")
_ISSUE = re.compile(rf"{ISSUE_LABEL}{_SEP}(?:{_PAIR}|{_NUM}{_NOT_DATE})")
_AMENDMENT = re.compile(rf"{AMENDMENT_LABEL}{_SEP}{_NUM}{_NOT_DATE}")
_REVIEW = re.compile(rf"{REVIEW_LABEL}{_SEP}{_NUM}{_NOT_DATE}")
# Compact forms standing alone: 03, 03.01, 03/01, 03-01, 03sđ01, 03 sđ 01, 03SĐ01.
_COMPACT = re.compile(r"^(\d{1,2})(?:\s*(?:[./-]|sd)\s*(\d{1,2}))?$")
# "03sđ01" is unmistakable even without a label around it.
_SD = re.compile(r"(?<![\d/.-])(\d{1,2})\s?sd\s?(\d{1,2})(?![\d/.-])")


def find_numbers(folded: str) -> tuple[int | None, int | None]:
    """Find (issue, amendment) printed with their labels anywhere in already folded text."""
    both = _BOTH.search(folded)
    if both:
        return int(both.group(1)), int(both.group(2))
    issue = amendment = None
    found = _ISSUE.search(folded)
    if found:
        if found.group(1):
            issue, amendment = int(found.group(1)), int(found.group(2))
        else:
            issue = int(found.group(3))
    found = _AMENDMENT.search(folded)
    if found and amendment is None:
        amendment = int(found.group(1))
    review = _REVIEW.search(folded)
    if review and amendment is None:
        amendment = int(review.group(1))
    if issue is None and amendment is None:
        compact = _SD.search(folded)
        if compact:
            issue, amendment = int(compact.group(1)), int(compact.group(2))
    return issue, amendment


def parse_label(text: str | None) -> tuple[int, int | None] | None:
    """Read (issue, amendment or None) from a printed label in any of its spellings."""
    folded = " ".join(fold(text or "").split())
    if not folded:
        return None
    compact = _COMPACT.match(folded)
    if compact:
        return int(compact.group(1)), int(compact.group(2)) if compact.group(2) else None
    issue, amendment = find_numbers(folded)
    if issue is None:
        return None
    return issue, amendment
