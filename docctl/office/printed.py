"""Read what a document prints about itself: code, issue, amendment, dates."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Printed:
    """What the file prints in its header, text boxes, first table or first page."""

    code: str | None = None
    issue: int | None = None
    amendment: int | None = None
    issued_on: date | None = None
    effective_date: date | None = None

    def found(self) -> bool:
        """Tell whether the file printed anything we could read."""
        return any(v is not None for v in (self.code, self.issue, self.amendment,
                                           self.issued_on, self.effective_date))


def read_printed(media: str, data: bytes, text: str = "") -> Printed:
    """Return what the file prints about itself (media: docx, pdf, xlsx; text: extracted)."""
    # Interface for issue #10's metadata reader (helper D replaces this body).
    return Printed()
