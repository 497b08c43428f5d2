"""Issue and amendment numbers of an uploaded revision: the change chosen, or the first."""

from flask_babel import lazy_gettext as _l

from docctl.domain.labels import ISSUE_MAX, Change, next_numbers
from docctl.domain.lifecycle import ABANDONED
from docctl.errors import ValidationError
from docctl.models import Document, Revision
from docctl.office.printed import Printed


class NumbersRefused(ValidationError):
    """The issue/amendment asked for cannot be given (422: well-formed, not acceptable)."""

    status = 422


def _number(value, field: str, low: int) -> int:
    """Return a typed issue or amendment number within its range, or refuse it."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = -1
    if not low <= number <= ISSUE_MAX:
        raise NumbersRefused(_l("%(field)s must be a number from %(low)s to %(high)s",
                                field=_FIELD_NAMES[field], low=low, high=ISSUE_MAX),
                             field=field)
    return number


_FIELD_NAMES = {"issue": _l("Issue"), "amendment": _l("Amendment")}


def change(value) -> Change | None:
    """Return the change asked for (None when not given); refuse an unknown one."""
    if value in (None, ""):
        return None
    if str(value) not in Change._value2member_map_:
        raise NumbersRefused(_l("Choose amendment or new issue for this revision"),
                             field="change")
    return Change(str(value))


def for_upload(document: Document, draft: Revision | None, chosen: Change | None,
               issue, amendment, shown: Printed) -> tuple[int, int]:
    """Return (issue, amendment) of the revision being uploaded (draft: the one replaced)."""
    # A discarded draft never counted: the next revision follows the one before it.
    before = [r for r in document.revisions if r is not draft and r.status not in ABANDONED]
    explicit = issue not in (None, "") or amendment not in (None, "")
    if before:
        if explicit:
            raise NumbersRefused(_l("Issue and amendment numbers are given only for a "
                                    "document's first revision; later revisions are an "
                                    "amendment or a new issue"), field="issue")
        if chosen is None:
            if draft is not None:   # new content for the same draft keeps its numbers
                return draft.issue, draft.amendment
            raise NumbersRefused(_l("Choose amendment or new issue for this revision"),
                                 field="change")
        previous = before[-1]
        return next_numbers(previous.issue, previous.amendment, chosen)
    if explicit:
        return (_number(issue if issue not in (None, "") else 1, "issue", 1),
                _number(amendment if amendment not in (None, "") else 0, "amendment", 0))
    if draft is not None:   # numbers chosen with the first upload stay
        return draft.issue, draft.amendment
    if shown.issue is not None and 1 <= shown.issue <= ISSUE_MAX:
        # The file's own "Lần ban hành 03 - Lần sửa đổi 01" starts the document there.
        amended = shown.amendment if shown.amendment is not None else 0
        return shown.issue, min(max(amended, 0), ISSUE_MAX)
    return 1, 0


def choices(document: Document) -> dict:
    """Return what the upload form offers: first numbers, or each change with its label."""
    from docctl.services import organisation

    latest = document.revisions[-1] if document.revisions else None
    draft = latest if latest is not None and latest.status == "draft" else None
    before = [r for r in document.revisions if r is not draft and r.status not in ABANDONED]
    result = {"first": not before, "draft": draft,
              "draft_label": organisation.label(draft.issue, draft.amendment) if draft else None,
              "changes": []}
    if before:
        previous = before[-1]
        result["previous_label"] = organisation.label(previous.issue, previous.amendment)
        result["changes"] = [(c.value, organisation.label(*next_numbers(
            previous.issue, previous.amendment, c))) for c in Change]
    return result
