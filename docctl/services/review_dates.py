"""Keep a document's next periodic review date in step with what is in force."""

from docctl.domain.periodic import next_review
from docctl.models import Document, Revision


def on_effective(document: Document, revision: Revision) -> None:
    """Set the next review date when a revision takes effect: its period from that date."""
    document.reviewed_on = None   # a new revision restarts the cycle from its own date
    document.next_review_date = next_review(revision.effective_date, None,
                                            document.review_months or 12)
