"""Write the human-readable manifest of an evidence package as a Word document."""

from __future__ import annotations

import io
from collections.abc import Sequence

import docx
from docx.enum.section import WD_ORIENT
from docx.shared import Pt

from docctl.office.generate import _clean, _deterministic

Block = str | tuple[str, Sequence[Sequence[str]]]


def build_manifest_docx(title: str, rows: Sequence[Block]) -> bytes:
    """Return a .docx: the title, then each block — a paragraph, or a headed table.

    A block is either a string (a paragraph) or (heading, table rows) where the first table
    row is the header.
    """
    document = docx.Document()
    section = document.sections[0]
    # Landscape: hash and commit columns need the width.
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    normal = document.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(10)
    document.core_properties.title = _clean(title)
    document.core_properties.author = "docctl"
    document.add_heading(_clean(title), level=0)
    for block in rows:
        if isinstance(block, str):
            document.add_paragraph(_clean(block))
            continue
        heading, table = block
        document.add_heading(_clean(heading), level=1)
        if not table:
            continue
        width = max(len(row) for row in table)
        grid = document.add_table(rows=len(table), cols=max(width, 1))
        grid.style = "Table Grid"
        # Walk the rows once: indexing table.rows[i] re-reads the whole table each time.
        for index, (cells_row, values) in enumerate(zip(grid.rows, table, strict=True)):
            for cell, value in zip(cells_row.cells, values, strict=False):
                cell.text = _clean(str(value))
                if index == 0:
                    for run in cell.paragraphs[0].runs:
                        run.bold = True
    out = io.BytesIO()
    document.save(out)
    return _deterministic(out.getvalue())
