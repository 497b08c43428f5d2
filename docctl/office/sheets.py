"""Read a master list (.xlsx or .csv) into plain rows of cell values: the only openpyxl reader
of lists, and the only csv reader."""

from __future__ import annotations

import csv
import io
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass, field

from lxml import etree

from docctl.errors import TooLarge, UnsupportedFile

# A master list is a few hundred rows; these bound a hostile or wrong file.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 60
MAX_ENTRIES = 2000
MAX_UNCOMPRESSED = 200 * 1024 * 1024
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@dataclass
class Sheet:
    """The first worksheet of a list: rows of values (row 1 first) and its merged ranges."""

    rows: list[list[object]]
    # (first_row, first_col, last_row, last_col), 1-based, as Excel numbers them.
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    encoding: str | None = None   # for a CSV: the encoding it was read in


def is_list_name(name: str) -> bool:
    """Tell whether a file name is one a master list may have."""
    return name.lower().endswith((".xlsx", ".csv"))


def read_sheet(name: str, data: bytes) -> Sheet:
    """Read a master list's first sheet; raise UnsupportedFile if it cannot be read."""
    if len(data) > MAX_BYTES:
        raise TooLarge("The master list is too large", reason="too_large", size=len(data),
                       limit=MAX_BYTES)
    if name.lower().endswith(".csv"):
        return _read_csv(data)
    if name.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    raise UnsupportedFile("The master list must be .xlsx or .csv", reason="not_list")


def _read_csv(data: bytes) -> Sheet:
    # Excel saves "CSV UTF-8" with a BOM; older Vietnamese Windows saves Windows-1258.
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:   # pragma: no cover - cp1258 maps nearly every byte
        raise UnsupportedFile("The CSV file is in an unknown encoding", reason="encoding")
    if "\x00" in text:
        raise UnsupportedFile("The CSV file holds binary data", reason="binary")
    # Windows-1258 writes tones as combining marks: compose them as every other input is.
    text = unicodedata.normalize("NFC", text)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for values in csv.reader(io.StringIO(text), dialect):
        rows.append(list(values[:MAX_COLUMNS]))
        if len(rows) > MAX_ROWS:
            raise UnsupportedFile("The master list has too many rows", reason="too_many_rows")
    return Sheet(rows=rows, encoding="utf-8" if encoding == "utf-8-sig" else encoding)


def _read_xlsx(data: bytes) -> Sheet:
    import openpyxl  # here only: the one adapter that knows openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES or \
                    sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
                raise UnsupportedFile("The workbook is too large when unpacked",
                                      reason="too_large")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # openpyxl warns about styles it ignores
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except UnsupportedFile:
        raise
    except Exception:   # openpyxl raises many kinds on a broken or foreign file
        raise UnsupportedFile("The workbook cannot be read", reason="not_xlsx") from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            rows.append(list(values))
            if len(rows) > MAX_ROWS:
                raise UnsupportedFile("The master list has too many rows",
                                      reason="too_many_rows")
        merged = _merged_ranges(sheet)
    except UnsupportedFile:
        raise
    except Exception:
        raise UnsupportedFile("The workbook cannot be read", reason="not_xlsx") from None
    finally:
        book.close()
    return Sheet(rows=rows, merged=merged)


def _merged_ranges(sheet) -> list[tuple[int, int, int, int]]:
    # Read-only worksheets do not load merged cells; read <mergeCell ref=".."/> from the
    # sheet's own part (openpyxl keeps its archive and part name on the sheet).
    from openpyxl.utils.cell import range_boundaries

    found = []
    with sheet.parent._archive.open(sheet._worksheet_path) as part:
        for _event, element in etree.iterparse(part, tag=f"{_MAIN_NS}mergeCell",
                                               resolve_entities=False, no_network=True,
                                               huge_tree=False):
            ref = element.get("ref") or ""
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref)
            except (ValueError, TypeError):
                continue
            found.append((min_row, min_col, max_row, max_col))
            element.clear()
    return found


def cell_range(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """Return a range as Excel names it (A3:B3)."""
    from openpyxl.utils.cell import get_column_letter

    return f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{last_row}"


def write_xlsx(rows: list[list[object]], *, merged: tuple[str, ...] = ()) -> bytes:
    """Write rows to a one-sheet workbook (for tests, the bench and example lists)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Danh mục"
    for values in rows:
        sheet.append(values)
    for ref in merged:
        sheet.merge_cells(ref)
    for row in sheet.iter_rows():
        for cell in row:
            if hasattr(cell.value, "year"):
                cell.number_format = "DD/MM/YYYY"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
