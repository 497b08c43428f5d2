"""Decisions that issue a set of documents (Quyết định ban hành): numbers and release states."""

from __future__ import annotations

import re
from enum import StrEnum

from docctl.domain.textfold import clean_line, fold


class ReleaseStatus(StrEnum):
    """Where a release stands."""

    DRAFT = "draft"            # assembled by the secretary, not signed
    APPROVED = "approved"      # signed, waiting for its effective date
    EFFECTIVE = "effective"    # its set is in force
    REPLACED = "replaced"      # a later decision replaced it
    DISCARDED = "discarded"    # given up before signing (kept in the trail)


class ItemAction(StrEnum):
    """What a release does to one document."""

    ISSUE = "issue"            # a new document or a new revision (ban hành / sửa đổi)
    ABOLISH = "abolish"        # bãi bỏ


OPEN = (ReleaseStatus.DRAFT, ReleaseStatus.APPROVED)

# Decree 30/2020/NĐ-CP: number [/year] / type abbreviation - issuing body, e.g.
# 3494/QĐ-UBND, 12/2024/QĐ-UBND, 05/QĐ-SKHCN-VP. A release is issued by a decision, so the type
# is QĐ (typed "QD" or "qđ" too: staff type without diacritics).
_NUMBER = re.compile(
    r"^(?P<number>[0-9]{1,5})(?:/(?P<year>(?:19|20)[0-9]{2}))?/(?P<type>QĐ)"
    r"-(?P<body>[A-ZĐ0-9]{1,12}(?:-[A-ZĐ0-9]{1,12}){0,3})$")
MAX_LEN = 50   # the key column holds 60: room for the suffix of a discarded one


def normalise_number(text: str | None) -> str | None:
    """Return a decision's số/ký hiệu in its printed form, or None if not in Decree 30 form."""
    value = clean_line(text, max_len=MAX_LEN + 1).replace(" ", "")
    if value.lower().startswith("số:"):
        value = value[3:]
    if not value or len(value) > MAX_LEN:
        return None
    value = value.upper()
    number, sep, rest = value.rpartition("/")
    if not sep:
        return None
    kind, dash, body = rest.partition("-")
    if fold(kind) == "qd":
        kind = "QĐ"
    value = f"{number}/{kind}{dash}{body}"
    match = _NUMBER.match(value)
    if match is None or int(match["number"]) == 0:
        return None
    return value


def number_key(number: str) -> str:
    """Return the key two spellings of one decision number share (QĐ and QD alike)."""
    return fold(number).upper()


def number_slug(number: str) -> str:
    """Return the ASCII folder and tag name of a decision: 3494/QĐ-UBND → 3494-QD-UBND."""
    return number_key(number).replace("/", "-")
