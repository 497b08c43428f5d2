"""What `docctl verify` reports: one named problem per finding."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Finding:
    """One inconsistency, naming the entry, revision or object that failed."""

    area: str                    # audit, anchor, signature, revision, tag, trailer, git, ...
    message: str
    document: str | None = None  # the document code concerned, when there is one

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict:
        """Return the finding as plain JSON-ready data."""
        return asdict(self)
