"""Copies and manifests print words, never raw keys; labels and organisation reach the copy."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

import docx

from docctl.domain.lifecycle import Status
from docctl.domain.permissions import Role
from docctl.office import stamp_copy
from docctl.office.stamp import HistoryLine, stamp_lines
from docctl.office.words import (
    ROLE_TEXT,
    STATUS_TEXT,
    UNKNOWN,
    day,
    meaning_text,
    roles_text,
    status_text,
)
from tests.fixtures.letterheads import LETTERHEADS
from tests.office.test_stamp import CONTROLLED


def test_every_status_and_role_has_printed_words():
    assert set(STATUS_TEXT) == {s.value for s in Status}
    assert set(ROLE_TEXT) == {r.value for r in Role}
    for text in [*STATUS_TEXT.values(), *ROLE_TEXT.values()]:
        assert " / " in text   # Vietnamese / English, as on every copy


def test_roles_are_printed_once_each_in_order():
    assert roles_text("auditor,auditor") == "Chuyên gia đánh giá / Auditor"
    assert roles_text("staff,reviewer") == ("Cán bộ, công chức / Staff, "
                                            "Người xem xét / Reviewer")
    assert roles_text("") == UNKNOWN and roles_text("ghost") == UNKNOWN
    assert status_text("in_review") == "Đang xem xét / In review"
    assert status_text("no_such") == UNKNOWN
    assert meaning_text("imported")[0].startswith("Người nhập")
    assert day(date(2024, 3, 5)) == "05/03/2024" and day(None) == "—"


def test_draft_statuses_are_never_printed_raw():
    for status in ("draft", "in_review", "awaiting_approval"):
        info = dataclasses.replace(CONTROLLED, status=status, kind="draft")
        line = stamp_lines(info)[1]
        assert status not in line.split() and STATUS_TEXT[status] in line


def test_label_organisation_and_history_labels_are_printed():
    info = dataclasses.replace(
        CONTROLLED, label="03sđ01", organisation="Sở Khoa học và Công nghệ",
        history=(HistoryLine(1, date(2024, 1, 2), "", "Lê Văn Duyệt", label="01"),
                 HistoryLine(3, date(2026, 12, 1), "Sửa đổi", "Lê Văn Duyệt", label="03sđ01")))
    lines = stamp_lines(info)
    assert lines[0] == "Sở Khoa học và Công nghệ · QT-01 — Quy trình kiểm soát tài liệu"
    assert "Lần ban hành: 03sđ01 ·" in lines[1]
    assert "Lần ban hành: 03 ·" in stamp_lines(CONTROLLED)[1]   # no label: the revision
    document = docx.Document(io.BytesIO(stamp_copy(LETTERHEADS["f_no_header"](), info)))
    rows = [[c.text for c in row.cells] for row in document.tables[-1].rows]
    assert rows[1][:2] == ["01", "02/01/2024"] and rows[2][:2] == ["03sđ01", "01/12/2026"]
    texts = [p.text for p in document.paragraphs]
    assert "Lần ban hành: 03sđ01" in texts
    assert lines[0] in texts
