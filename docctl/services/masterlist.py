"""Read an agency's master list: map its columns by their names, check every row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l

from docctl.domain.labels import parse_label
from docctl.domain.numbering import DocType
from docctl.domain.textfold import clean_code, clean_line, code_key, fold, is_valid_code
from docctl.errors import DocctlError
from docctl.office import sheets

# Column → the folded header names an agency may give it (Vietnamese first, then English).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("ma hieu", "ma so", "ky hieu", "ma tai lieu", "ma hieu tai lieu", "code",
             "document code", "doc code"),
    "title": ("ten tai lieu", "ten", "ten van ban", "title", "document title", "name"),
    "type": ("loai", "loai tai lieu", "type", "document type", "kind"),
    "department": ("don vi", "phong ban", "don vi soan thao", "don vi chu tri", "bo phan",
                   "department", "dept", "unit"),
    "issue": ("lan ban hanh", "issue", "issue no", "issue number", "revision"),
    "amendment": ("lan sua doi", "amendment", "amendment no", "amendment number"),
    "effective": ("ngay hieu luc", "ngay co hieu luc", "effective date", "effective"),
    "issued_on": ("ngay ban hanh", "issue date", "issued on", "date"),
    "parent": ("tai lieu goc", "thuoc quy trinh", "thuoc tai lieu", "parent",
               "parent document", "parent code"),
    "file": ("ten tep", "tep", "ten file", "file", "file name", "filename", "tep tin"),
    "approver": ("nguoi phe duyet", "phe duyet", "approver", "approved by"),
    "approved_on": ("ngay phe duyet", "approved on", "approval date", "date approved"),
    "source": ("nguon", "co quan ban hanh", "noi ban hanh", "source", "issued by"),
}
HEADER_NAMES = {name: column for column, names in SYNONYMS.items() for name in names}
REQUIRED = ("code", "title", "type", "department", "issue", "effective", "file")
# The row that holds all three of these is the header row (a title block may sit above it).
ANCHORS = ("code", "title", "file")
COLUMN_WORDS = {
    "code": _l("Code (Mã hiệu)"), "title": _l("Title (Tên tài liệu)"),
    "type": _l("Type (Loại)"), "department": _l("Department (Đơn vị)"),
    "issue": _l("Issue (Lần ban hành)"), "amendment": _l("Amendment (Lần sửa đổi)"),
    "effective": _l("Effective date (Ngày hiệu lực / Ngày ban hành)"),
    "file": _l("File name (Tên tệp)"), "parent": _l("Parent (Tài liệu gốc)"),
}

TYPE_NAMES = {
    "quy trinh": DocType.PROCEDURE, "qt": DocType.PROCEDURE, "procedure": DocType.PROCEDURE,
    "bieu mau": DocType.FORM, "bm": DocType.FORM, "form": DocType.FORM,
    "huong dan": DocType.INSTRUCTION, "hd": DocType.INSTRUCTION,
    "huong dan cong viec": DocType.INSTRUCTION, "instruction": DocType.INSTRUCTION,
    "work instruction": DocType.INSTRUCTION,
    "so tay": DocType.MANUAL, "so tay chat luong": DocType.MANUAL, "manual": DocType.MANUAL,
    "quality manual": DocType.MANUAL,
    "chinh sach": DocType.POLICY, "chinh sach chat luong": DocType.POLICY,
    "policy": DocType.POLICY, "quality policy": DocType.POLICY,
    "muc tieu": DocType.OBJECTIVE, "muc tieu chat luong": DocType.OBJECTIVE,
    "objective": DocType.OBJECTIVE, "quality objective": DocType.OBJECTIVE,
    "tai lieu ben ngoai": DocType.EXTERNAL, "external": DocType.EXTERNAL,
    "external document": DocType.EXTERNAL,
}

_EXCEL_EPOCH = date(1899, 12, 30)
# A time after the day (a date column exported from Excel as text) is dropped.
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
_DMY = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})" + _TIME + "$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + "$")


class ListError(DocctlError):
    """The master list as a whole cannot be used (no header row, missing column, …)."""

    status = 422


@dataclass
class Entry:
    """One row of the master list, checked: what to register, or why not."""

    row: int
    code: str = ""
    title: str = ""
    doc_type: str | None = None
    department: str | None = None   # the department's code, once matched
    issue: int | None = None
    amendment: int = 0
    effective_date: date | None = None
    parent: str | None = None       # the parent's code as the list gives it
    file: str = ""
    approver: str | None = None
    approved_on: date | None = None
    source: str | None = None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Return the code's matching key."""
        return code_key(self.code)

    def fingerprint(self) -> tuple:
        """Return what makes two rows the same row."""
        return (self.key, self.title, self.doc_type, self.department, self.issue,
                self.amendment, self.effective_date, self.parent, self.file)


@dataclass
class MasterList:
    """The checked rows of a list and the notes about the list itself."""

    entries: list[Entry]
    notes: list[str] = field(default_factory=list)


def _header_word(value) -> str:
    text = fold(clean_line(str(value or "")))
    text = re.sub(r"\(.*?\)", " ", text)          # "Mã hiệu (Code)" → "ma hieu"
    text = re.sub(r"[^a-z0-9/ ]+", " ", text)
    return " ".join(text.split())


def column_of(value) -> str | None:
    word = _header_word(value)
    if word in HEADER_NAMES:
        return HEADER_NAMES[word]
    # "Mã hiệu / Code", "Ngày hiệu lực/Effective date": any part may name the column.
    for part in re.split(r"\s*/\s*", word):
        if part in HEADER_NAMES:
            return HEADER_NAMES[part]
    return None


def _find_header(sheet: sheets.Sheet) -> tuple[int, dict[str, int]]:
    best: tuple[int, dict[str, int]] | None = None
    for index, values in enumerate(sheet.rows[:50]):
        columns: dict[str, int] = {}
        for position, value in enumerate(values):
            column = column_of(value)
            if column and column not in columns:
                columns[column] = position
        if all(a in columns for a in ANCHORS):
            return index, columns
        if len(columns) >= 2 and (best is None or len(columns) > len(best[1])):
            best = (index, columns)
    if best is None:
        raise ListError(_l("No header row found: the list needs a row naming its columns "
                           "(Mã hiệu, Tên tài liệu, Tên tệp …)"))
    return best


def _check_columns(sheet: sheets.Sheet, index: int, columns: dict[str, int]) -> None:
    header_row = index + 1
    for first_row, first_col, last_row, last_col in sheet.merged:
        if first_row <= header_row <= last_row and (last_col > first_col or
                                                     last_row > first_row):
            cells = sheets.cell_range(first_row, first_col, last_row, last_col)
            raise ListError(_l("The header row has merged cells (%(cells)s): unmerge them "
                               "so that each column has its own name", cells=cells))
    if "effective" not in columns and "issued_on" in columns:
        columns["effective"] = columns["issued_on"]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ListError(_l("The master list lacks the column(s): %(cols)s",
                           cols=", ".join(str(COLUMN_WORDS[c]) for c in missing)))


def _date(value, today: date) -> tuple[date | None, bool]:
    """Return (the date, whether it could be read); an empty cell gives (None, True)."""
    if _blank(value):
        return None, True
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value <= 2958465:   # Excel's serial day numbers (1900 … 9999)
            return _EXCEL_EPOCH + timedelta(days=int(value)), True
        return None, False
    text = clean_line(str(value))
    if text.isdigit() and len(text) == 5:   # a serial exported as text
        return _EXCEL_EPOCH + timedelta(days=int(text)), True
    for pattern, order in ((_DMY, "dmy"), (_YMD, "ymd")):
        match = pattern.match(text)
        if match:
            a, b, c = (int(g) for g in match.groups())
            day, month, year = (a, b, c) if order == "dmy" else (c, b, a)
            try:
                return date(year, month, day), True
            except ValueError:
                return None, False
    return None, False


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _text(values: list, columns: dict[str, int], column: str, max_len: int = 300) -> str:
    position = columns.get(column)
    if position is None or position >= len(values):
        return ""
    value = values[position]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_line("" if value is None else str(value), max_len=max_len)


def _raw(values: list, columns: dict[str, int], column: str):
    position = columns.get(column)
    if position is None or position >= len(values):
        return None
    return values[position]


def read_list(name: str, data: bytes, *, departments: list[tuple[str, str, str | None]],
              today: date) -> MasterList:
    """Read and check a master list; raise ListError if the list as a whole is unusable.

    departments: (code, name, English name) of each department, matched by code or name.
    """
    try:
        sheet = sheets.read_sheet(name, data)
    except DocctlError:
        raise ListError(_l("The master list %(name)s cannot be read: save it again as "
                           ".xlsx or as CSV (UTF-8)", name=name)) from None
    index, columns = _find_header(sheet)
    _check_columns(sheet, index, columns)
    notes = []
    if sheet.encoding == "cp1258":
        notes.append(_l("The CSV file was read as Windows-1258 (Vietnamese Windows)"))
    by_name = {}
    for code, dept_name, name_en in departments:
        for word in (code, dept_name, name_en):
            if word:
                by_name.setdefault(fold(clean_line(word)), code)
    entries = []
    for offset, values in enumerate(sheet.rows[index + 1:], start=index + 2):
        if all(v is None or not str(v).strip() for v in values):
            continue   # blank rows between groups
        entries.append(_entry(offset, values, columns, by_name, today))
    _find_duplicates(entries)
    return MasterList(entries=entries, notes=notes)


def _entry(row: int, values: list, columns: dict[str, int], departments: dict[str, str],
           today: date) -> Entry:
    entry = Entry(row=row)
    errors, notes = entry.errors, entry.notes
    raw_code = _raw(values, columns, "code")
    raw_code = "" if raw_code is None else str(raw_code)
    entry.code = clean_code(raw_code)
    if entry.code != raw_code:
        notes.append(_l("Code “%(code)s” had stray or non-breaking spaces, removed",
                        code=entry.code))
    if not entry.code:
        errors.append(_l("No code on this row"))
    elif not is_valid_code(entry.code):
        errors.append(_l("Code “%(code)s” may hold letters, digits, '.', '-' and '_' only",
                         code=entry.code))
    entry.title = _text(values, columns, "title")
    if not entry.title:
        errors.append(_l("No title on this row"))
    type_word = _text(values, columns, "type")
    entry.doc_type = TYPE_NAMES.get(fold(type_word)) or (
        type_word if type_word in {t.value for t in DocType} else None)
    if entry.doc_type is None:
        errors.append(_l("Unknown document type “%(type)s”", type=type_word))
    department = _text(values, columns, "department")
    entry.department = departments.get(fold(department))
    if entry.department is None:
        errors.append(_l("Unknown department “%(dept)s”: create it first or use its code",
                         dept=department))
    _numbers(entry, values, columns)
    entry.effective_date = _checked_date(entry, values, columns, "effective", today)
    if _blank(_raw(values, columns, "effective")):
        errors.append(_l("No effective date on this row"))
    entry.approved_on = _checked_date(entry, values, columns, "approved_on", today)
    entry.parent = clean_code(_text(values, columns, "parent")) or None
    entry.file = _text(values, columns, "file")
    if not entry.file:
        errors.append(_l("No file for this row"))
    entry.approver = _text(values, columns, "approver", max_len=200) or None
    entry.source = _text(values, columns, "source") or None
    if entry.doc_type == DocType.EXTERNAL and not entry.source:
        errors.append(_l("An external document needs its source (column Nguồn / Source)"))
    return entry


def _numbers(entry: Entry, values: list, columns: dict[str, int]) -> None:
    issue_raw = _raw(values, columns, "issue")
    amendment_raw = _raw(values, columns, "amendment")
    issue = _number(issue_raw)
    label_amendment = None
    if issue is None and issue_raw not in (None, ""):
        parsed = parse_label(clean_line(str(issue_raw)))
        if parsed:
            issue, label_amendment = parsed
    if issue is None or not 1 <= issue <= 99:
        entry.errors.append(_l("The issue “%(value)s” cannot be read (write 01, 03 or "
                               "03sđ01)", value="" if issue_raw is None else issue_raw))
        return
    entry.issue = issue
    amendment = _number(amendment_raw)
    if amendment is None and amendment_raw not in (None, ""):
        parsed = parse_label(clean_line(str(amendment_raw)))
        amendment = parsed[0] if parsed else None
        if amendment is None:
            entry.errors.append(_l("The amendment “%(value)s” cannot be read",
                                   value=amendment_raw))
            return
    if amendment is not None and label_amendment is not None and amendment != label_amendment:
        entry.errors.append(_l("The issue column says amendment %(a)s but the amendment "
                               "column says %(b)s", a=label_amendment, b=amendment))
        return
    entry.amendment = amendment if amendment is not None else (label_amendment or 0)
    if not 0 <= entry.amendment <= 99:
        entry.errors.append(_l("The amendment “%(value)s” cannot be read",
                               value=amendment_raw))


def _checked_date(entry: Entry, values: list, columns: dict[str, int], column: str,
                  today: date) -> date | None:
    raw = _raw(values, columns, column)
    value, readable = _date(raw, today)
    if not readable:
        entry.errors.append(_l("The date “%(value)s” cannot be read: write it as dd/mm/yyyy",
                               value=raw))
        return None
    if value is not None and value > today:
        entry.errors.append(_l("The date %(value)s is in the future: import documents "
                               "already in force, publish later ones through review",
                               value=value.strftime("%d/%m/%Y")))
        return None
    return value


def _find_duplicates(entries: list[Entry]) -> None:
    first_by_row: dict[tuple, Entry] = {}
    first_by_code: dict[str, Entry] = {}
    first_by_file: dict[str, Entry] = {}
    for entry in entries:
        same = first_by_row.get(entry.fingerprint())
        if same is not None and entry.code:
            entry.errors.append(_l("Duplicate of row %(row)s", row=same.row))
            continue
        first_by_row[entry.fingerprint()] = entry
        if entry.code:
            other = first_by_code.get(entry.key)
            if other is not None:
                entry.errors.append(_l("Duplicate code: %(code)s is also on row %(row)s",
                                       code=other.code, row=other.row))
                other.errors.append(_l("Duplicate code: %(code)s is also on row %(row)s",
                                       code=entry.code, row=entry.row))
            else:
                first_by_code[entry.key] = entry
        if entry.file:
            file_key = entry.file.casefold()
            other = first_by_file.get(file_key)
            if other is not None:
                entry.errors.append(_l("The file %(file)s is listed twice (also on row "
                                       "%(row)s)", file=entry.file, row=other.row))
            else:
                first_by_file[file_key] = entry
