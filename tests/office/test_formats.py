"""The PDF, Excel and legacy .doc adapters: hostile input refused, text read, copies stamped."""

import io
import re
import shutil
import subprocess
from datetime import date, datetime

import openpyxl
import pytest
from pypdf import PdfReader

from docctl.domain import formats
from docctl.errors import TooLarge, UnsupportedFile
from docctl.office import legacy, pdf, pdfdoc, pdfstamp, xlsx
from docctl.office.stamp import StampInfo
from tests.fixtures import formats as fx

LIMITS = {"max_bytes": 20 * 1024 * 1024, "max_entries": 2000,
          "max_uncompressed": 200 * 1024 * 1024}
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"([^<]*)</word>")


def info(kind: str = "controlled", **extra) -> StampInfo:
    values = {"code": "BM-07", "title": "Biểu mẫu đăng ký tạm trú", "revision": 3,
              "effective_date": date(2026, 1, 26), "status": "effective",
              "downloaded_by": "Nguyễn Văn Đức (duc)",
              "downloaded_at": datetime(2026, 2, 1, 9, 5), "kind": kind}
    values.update(extra)
    return StampInfo(**values)


def obsolete() -> StampInfo:
    return info("obsolete", status="superseded", superseded_by=4, ended_on=date(2026, 3, 1))


def needs_pdftotext():
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: word boxes not checked")


def words(data: bytes, tmp_path, name: str) -> list[list[tuple]]:
    """Return each page's words as (xmin, ymin, xmax, ymax, text), top-left origin."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = html.split("<page ")[1:]
    return [[(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in WORD.findall(p)]
            for p in pages]


# -- sniffing and what each type accepts --

def test_bytes_decide_the_format_not_the_name():
    assert formats.sniff(fx.text_pdf()) == formats.Sniffed.PDF
    assert formats.sniff(fx.workbook()) == formats.Sniffed.ZIP
    assert formats.sniff(fx.encrypted_workbook()) == formats.Sniffed.OLE
    assert formats.sniff(b"hello") == formats.Sniffed.UNKNOWN
    assert formats.accepted("procedure") == ("docx",)
    assert formats.accepted("form") == ("docx", "pdf", "xlsx")
    assert formats.accepted("external") == ("docx", "pdf", "xlsx")
    assert not formats.accepts("manual", "pdf")


# -- PDF --

def test_a_pdf_with_text_is_accepted_and_its_words_extracted():
    result = pdfdoc.inspect_pdf(fx.text_pdf(pages=3), max_bytes=LIMITS["max_bytes"])
    assert result.pages == 3 and result.searchable
    assert "Bieu mau dang ky tam tru BM-07" in result.text and "Trang 3" in result.text


def test_a_scanned_pdf_is_accepted_but_not_searchable():
    result = pdfdoc.inspect_pdf(fx.scanned_pdf(), max_bytes=LIMITS["max_bytes"])
    assert result.pages == 1 and not result.searchable and result.text == ""


@pytest.mark.parametrize(("make", "reason"), [
    (fx.encrypted_pdf, "encrypted"),
    (fx.javascript_pdf, "active_content"),
    (fx.open_action_pdf, "active_content"),
    (lambda: fx.open_action_pdf("/JavaScript"), "active_content"),
    (fx.attachment_pdf, "active_content"),
    (fx.malformed_pdf, "damaged"),
    (lambda: b"%PDF-1.4\n" + b"[" * 100000, "damaged"),
])
def test_hostile_pdfs_are_refused_with_a_reason_never_a_traceback(make, reason):
    with pytest.raises(UnsupportedFile) as caught:
        pdfdoc.inspect_pdf(make(), max_bytes=LIMITS["max_bytes"])
    assert caught.value.details["reason"] == reason
    assert caught.value.status == 415


def test_a_harmless_open_action_is_accepted():
    assert pdfdoc.inspect_pdf(fx.goto_pdf(), max_bytes=LIMITS["max_bytes"]).searchable


def test_pdf_size_and_page_caps():
    data = fx.text_pdf(pages=4)
    with pytest.raises(TooLarge):
        pdfdoc.inspect_pdf(data, max_bytes=len(data) - 1)
    with pytest.raises(UnsupportedFile) as caught:
        pdfdoc.inspect_pdf(data, max_bytes=LIMITS["max_bytes"], max_pages=3)
    assert caught.value.details["reason"] == "too_many_pages"


def test_pdf_reading_is_bounded_in_time():
    with pytest.raises(UnsupportedFile) as caught:
        pdfdoc.inspect_pdf(fx.text_pdf(pages=3), max_bytes=LIMITS["max_bytes"], seconds=0)
    assert caught.value.details["reason"] == "too_slow"


@pytest.mark.parametrize("kind", ["controlled", "obsolete"])
def test_the_pdf_band_lies_above_every_original_page(tmp_path, kind):
    needs_pdftotext()
    original = fx.text_pdf(pages=2)
    stamp = info() if kind == "controlled" else obsolete()
    stamped = pdfstamp.stamp_pdf(original, stamp)
    before, after = words(original, tmp_path, "o"), words(stamped, tmp_path, "s")
    assert len(after) == len(before) == 2
    reader = PdfReader(io.BytesIO(stamped))
    for page, old, new in zip(reader.pages, before, after, strict=True):
        band = float(page.mediabox.height) - fx.A4[1]
        assert band > 20
        stamp_words = [w for w in new if w[3] <= band + 0.5]
        moved = [w for w in new if w[3] > band + 0.5]
        # Every original word is still there, shifted down by the band, none covered.
        assert [w[4] for w in moved] == [w[4] for w in old]
        for o, n in zip(old, moved, strict=True):
            assert abs(n[1] - band - o[1]) < 0.5
        assert all(w[1] >= 0 for w in stamp_words)
        text = " ".join(w[4] for w in stamp_words)
        assert "BM-07" in text and "26/01/2026" in text and "Nguyễn" in text
        assert ("KIỂM" in text) if kind == "controlled" else ("HIỆU" in text and "01/03/2026"
                                                                 in text)
        assert not re.search(r"Status: [a-z_]+\b", text)   # a translated status, no raw code
    assert "TOPEDGE" in " ".join(w[4] for p in after for w in p)


def test_a_rotated_page_gets_its_band_on_the_top_people_see(tmp_path):
    needs_pdftotext()
    reader = PdfReader(io.BytesIO(fx.text_pdf()))
    from pypdf import PdfWriter
    writer = PdfWriter(clone_from=reader)
    writer.pages[0].rotate(90)
    out = io.BytesIO()
    writer.write(out)
    stamped = pdfstamp.stamp_pdf(out.getvalue(), info())
    page = PdfReader(io.BytesIO(stamped)).pages[0]
    assert page.rotation % 360 == 0
    assert float(page.mediabox.height) > fx.A4[0]   # landscape now, band on top
    first = words(stamped, tmp_path, "r")[0]
    assert min(first, key=lambda w: w[1])[4] == "BM-07"


# -- Excel --

def test_a_workbook_is_accepted_and_its_cells_and_sheet_names_extracted():
    result = xlsx.inspect_xlsx(fx.workbook(hyperlink="https://dichvucong.gov.vn/"), **LIMITS)
    assert result.sheets == ("Đăng ký", "Phụ lục")
    assert "Nguyễn Văn Đức" in result.text and "Phụ lục" in result.text
    assert result.external_links == ("https://dichvucong.gov.vn/",)


@pytest.mark.parametrize(("make", "reason"), [
    (fx.macro_workbook, "macro"),
    (fx.linked_workbook, "external_links"),
    (fx.picture_link_workbook, "external_links"),
    (fx.bomb_workbook, "zip_bomb"),
    (fx.encrypted_workbook, "encrypted"),
])
def test_hostile_workbooks_are_refused(make, reason):
    with pytest.raises(UnsupportedFile) as caught:
        xlsx.inspect_xlsx(make(), **LIMITS)
    assert caught.value.details["reason"] == reason


def _hf(data: bytes) -> dict[str, dict[str, str]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    out = {}
    for sheet in book.worksheets:
        parts = {}
        for where in ("oddHeader", "oddFooter"):
            hf = getattr(sheet, where)
            parts[where] = " ".join(filter(None, (hf.left.text, hf.center.text,
                                                   hf.right.text)))
        out[sheet.title] = parts
    return out


def test_every_sheet_is_stamped_and_a_used_header_is_kept():
    original = fx.workbook(footer="Trang &P")
    stamped = xlsx.stamp_xlsx(original, info())
    found = _hf(stamped)
    # The first sheet's header holds the agency's name: kept, the stamp goes in the footer.
    assert found["Đăng ký"]["oddHeader"] == "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    assert "BẢN KIỂM SOÁT" in found["Đăng ký"]["oddFooter"]
    assert "Trang &P" in found["Đăng ký"]["oddFooter"]
    assert "BẢN KIỂM SOÁT" in found["Phụ lục"]["oddHeader"]
    for parts in found.values():
        stamp = " ".join(parts.values())
        assert "BM-07" in stamp and "26/01/2026" in stamp and "Đang hiệu lực" in stamp
        assert "Nguyễn Văn Đức" in stamp and "2026-" not in stamp
    # The cells are untouched and the copy is still an acceptable workbook.
    assert xlsx.inspect_xlsx(stamped, **LIMITS).text == xlsx.inspect_xlsx(original,
                                                                           **LIMITS).text


def test_an_obsolete_workbook_copy_says_so_within_excels_limit():
    stamp = obsolete()
    text = xlsx.hf_text(stamp, existing="&LMột dòng đầu trang rất dài " * 3)
    assert len(text) <= xlsx.HF_LIMIT
    stamped = xlsx.stamp_xlsx(fx.workbook(header=None), stamp)
    for parts in _hf(stamped).values():
        assert "HẾT HIỆU LỰC" in parts["oddHeader"] and "01/03/2026" in parts["oddHeader"]


# -- legacy .doc --

def test_compound_files_are_told_apart_by_their_directory():
    assert legacy.ole_kind(fx.encrypted_workbook()) == "encrypted"
    assert legacy.ole_kind(fx._ole(["Workbook"])) == "xls"
    assert legacy.ole_kind(fx._ole(["WordDocument", "Macros"])) == "doc_macro"
    assert legacy.ole_kind(fx._ole(["Something"])) == "other"


def test_a_real_doc_is_read_and_converted(tmp_path):
    if fx.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed: .doc conversion not tried")
    data = fx.legacy_doc()
    assert legacy.ole_kind(data) == "doc" and not legacy.is_encrypted_doc(data)
    assert legacy.ole_kind(fx.macro_doc()) == "doc_macro"
    converted = legacy.convert_doc(data, profile_dir=str(tmp_path / "profile"), timeout=60)
    from docctl.office import inspect_docx
    assert "Biểu mẫu đăng ký tạm trú" in inspect_docx(converted).text


def test_a_doc_conversion_that_hangs_is_killed_at_its_limit(tmp_path):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    with pytest.raises(legacy.ConversionTimeout) as caught:
        legacy.convert_doc(fx._ole(["WordDocument"]), soffice=str(fake), timeout=1.5)
    assert caught.value.status == 504
    assert not pdf._active   # nothing left running


def test_without_libreoffice_a_doc_is_refused_saying_what_to_install(tmp_path):
    with pytest.raises(UnsupportedFile) as caught:
        legacy.convert_doc(b"x", soffice=str(tmp_path / "none"))
    assert "libreoffice-writer-nogui" in caught.value.message


def test_a_real_libreoffice_pdf_keeps_every_word_of_its_first_page(tmp_path):
    needs_pdftotext()
    if fx.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed: no real PDF to stamp")
    original = fx.libreoffice_pdf()
    accepted = pdfdoc.inspect_pdf(original, max_bytes=LIMITS["max_bytes"])
    assert "Biểu mẫu đăng ký tạm trú" in accepted.text and accepted.searchable
    stamped = pdfstamp.stamp_pdf(original, obsolete())
    band = float(PdfReader(io.BytesIO(stamped)).pages[0].mediabox.height) - \
        float(PdfReader(io.BytesIO(original)).pages[0].mediabox.height)
    before = words(original, tmp_path, "lo")[0]
    after = words(stamped, tmp_path, "los")[0]
    body = [w for w in after if w[1] >= band]
    stamp = [w for w in after if w[3] <= band]
    assert len(body) + len(stamp) == len(after)
    assert [w[4] for w in body] == [w[4] for w in before]
    assert "SỞ" in [w[4] for w in body] and "HẾT" in [w[4] for w in stamp]
    print(f"real PDF: {len(before)} words on page 1, all kept below a {band:.0f} pt band; "
          f"{len(stamp)} stamp words, 0 overlapping")


def test_text_extraction_stops_at_its_limit_and_keeps_the_file():
    result = pdfdoc.inspect_pdf(fx.text_pdf(pages=3), max_bytes=LIMITS["max_bytes"],
                                text_seconds=0)
    assert result.pages == 3 and result.pages_read == 0 and not result.searchable


def test_a_first_page_header_switched_on_but_empty_gets_the_stamp_too():
    book = openpyxl.load_workbook(io.BytesIO(fx.workbook(header=None)))
    book.worksheets[0].HeaderFooter.differentFirst = True
    out = io.BytesIO()
    book.save(out)
    stamped = openpyxl.load_workbook(io.BytesIO(xlsx.stamp_xlsx(out.getvalue(), info())))
    first = stamped.worksheets[0].firstHeader
    assert "BẢN KIỂM SOÁT" in (first.center.text or "")
