"""Compare what a file prints about itself with the register, in words a secretary reads."""

from datetime import date

from flask_babel import gettext as _

from docctl.domain.textfold import clean_code, code_key
from docctl.office.printed import Printed


def _number(value: int) -> str:
    return f"{value:02d}"


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def check(printed: Printed, *, code: str, issue: int, amendment: int,
          effective_date: date | None = None) -> list[str]:
    """Return translated warnings where the file and the register disagree."""
    warnings: list[str] = []
    # A code is the same code however it is spelled (qt01, QT-01, QT 01): compare the keys.
    if printed.code and code and code_key(printed.code) != code_key(code):
        warnings.append(_("The file prints code %(printed)s; the register says %(register)s",
                          printed=clean_code(printed.code), register=clean_code(code)))
    if printed.issue is not None and issue is not None and printed.issue != issue:
        warnings.append(_("The file prints issue %(printed)s; the register says %(register)s",
                          printed=_number(printed.issue), register=_number(issue)))
    if printed.amendment is not None and amendment is not None \
            and printed.amendment != amendment:
        warnings.append(_(
            "The file prints amendment %(printed)s; the register says %(register)s",
            printed=_number(printed.amendment), register=_number(amendment)))
    if printed.effective_date and effective_date and printed.effective_date != effective_date:
        warnings.append(_(
            "The file prints effective date %(printed)s; the register says %(register)s",
            printed=_day(printed.effective_date), register=_day(effective_date)))
    return warnings


def as_json(printed: Printed, warnings: list[str]) -> dict:
    """Return the revision's `printed` JSON."""
    return {"code": printed.code, "issue": printed.issue, "amendment": printed.amendment,
            "issued_on": printed.issued_on.isoformat() if printed.issued_on else None,
            "effective_date": printed.effective_date.isoformat()
            if printed.effective_date else None,
            "number": printed.number,
            "warnings": [str(w) for w in warnings]}


def from_json(data: dict | None) -> Printed:
    """Read a revision's stored `printed` JSON back (missing or odd values become None)."""
    data = data if isinstance(data, dict) else {}

    def _int(name: str) -> int | None:
        value = data.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _date(name: str) -> date | None:
        try:
            return date.fromisoformat(data[name]) if isinstance(data.get(name), str) else None
        except ValueError:
            return None

    def _str(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) and value else None

    return Printed(code=_str("code"), issue=_int("issue"), amendment=_int("amendment"),
                   issued_on=_date("issued_on"), effective_date=_date("effective_date"),
                   number=_str("number"))
