"""Compare two revisions of a document (redlines)."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from docctl.domain.diff import DiffOp, SideRow, changed_words, diff_words, side_by_side
from docctl.errors import ValidationError
from docctl.models import Document, Revision, User
from docctl.services.documents import get_revision


@dataclass(frozen=True)
class Comparison:
    document: Document
    old: Revision
    new: Revision
    inline: list[DiffOp]
    rows: list[SideRow]
    inserted: int
    deleted: int


def compare(user: User, code: str, old: int, new: int) -> Comparison:
    """Return the word-level changes from revision old to revision new."""
    if old == new:
        raise ValidationError(_l("Choose two different revisions to compare"), field="from")
    left = get_revision(user, code, old)        # visibility of both is checked here
    right = get_revision(user, code, new)
    inline = diff_words(left.text or "", right.text or "")
    inserted, deleted = changed_words(inline)
    return Comparison(document=left.document, old=left, new=right, inline=inline,
                      rows=side_by_side(left.text or "", right.text or ""),
                      inserted=inserted, deleted=deleted)
