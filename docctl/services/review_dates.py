"""Keep a document's next periodic review date in step with what is in force."""

from docctl.domain.periodic import next_review
from docctl.models import Document, Revision


def on_effective(document: Document, revision: Revision) -> None:
    """Set the next review date when a revision takes effect: its period from that date."""
    document.reviewed_on = None   # a new revision restarts the cycle from its own date
    document.next_review_date = next_review(revision.effective_date, None,
                                            document.review_months or 12)


def recompute(document: Document) -> None:
    """Set the next review date again from what is in force and the last review.

    For a change of the document's review period: whoever edits review_months calls this
    in the same transaction. Nothing in force (new or withdrawn): no date.
    """
    from docctl.services.documents import effective_revision

    current = effective_revision(document)
    if document.status != "effective" or current is None or current.effective_date is None:
        document.next_review_date = None
        return
    document.next_review_date = next_review(current.effective_date, document.reviewed_on,
                                            document.review_months or 12)
