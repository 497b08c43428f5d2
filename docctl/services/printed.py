"""Compare what a file prints about itself with the register, in words a secretary reads."""

from datetime import date

from docctl.office.printed import Printed


def check(printed: Printed, *, code: str, issue: int, amendment: int,
          effective_date: date | None = None) -> list[str]:
    """Return translated warnings where the file and the register disagree."""
    # Interface for issue #10's metadata reader (helper D replaces this body).
    return []


def as_json(printed: Printed, warnings: list[str]) -> dict:
    """Return the revision's `printed` JSON."""
    return {"code": printed.code, "issue": printed.issue, "amendment": printed.amendment,
            "effective_date": printed.effective_date.isoformat()
            if printed.effective_date else None,
            "warnings": [str(w) for w in warnings]}
