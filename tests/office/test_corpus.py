"""Real-world Word files from public test suites get the outcome the corpus README promises."""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from pathlib import Path

import pytest

from docctl.errors import UnsupportedFile
from docctl.office import DocxInfo, extract_text, inspect_docx

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def _lines(info: DocxInfo) -> list[str]:
    return info.text.split("\n")


def _hdr_header_footer(info: DocxInfo) -> None:
    assert "Header for section-1" in _lines(info)
    assert "Footer for section 1" in _lines(info)
    assert "section without header of its own." in _lines(info)


def _first_page_headers(info: DocxInfo) -> None:
    assert "Default (odd, primary) Header" in _lines(info)
    assert "First Page Header (section 2)" in _lines(info)
    assert "Page 6, Third page of section 2." in _lines(info)


def _odd_even_headers(info: DocxInfo) -> None:
    assert "Even page header." in _lines(info)
    assert "Odd page header." in _lines(info)


def _merged_cells(info: DocxInfo) -> None:
    # Four 3x3 tables: plain, gridSpan over 4-5, vMerge over 5-8, and both over 4-5-7-8.
    expected = "123456789" + "12346789" + "12345679" + "123469"
    assert _lines(info) == list(expected)


def _comments(info: DocxInfo) -> None:
    assert "Document text" in _lines(info)
    assert "Other document text." in _lines(info)
    assert "worthy of note" in info.text
    assert "character style" not in info.text  # comment text is review matter, not content


def _page_breaks(info: DocxInfo) -> None:
    assert "Page break here>><<followed by more text." in _lines(info)
    assert "Two page>><<breaks>><<in one run." in _lines(info)


def _bom(info: DocxInfo) -> None:
    assert info.text == "This XML has a byte order mark."


def _text_box(info: DocxInfo) -> None:
    # The same box is in mc:Choice (DrawingML) and mc:Fallback (VML): read it once.
    assert info.text.count("Datum plane") == 1


def _external_picture(info: DocxInfo) -> None:
    assert info.external_links == ("tiny-picture.png",)


def _moves(info: DocxInfo) -> None:
    assert info.text.count("Here is the text to be moved.") == 1
    assert "Here is some more text." in _lines(info)


def _content_controls(info: DocxInfo) -> None:
    assert "Body copy" in _lines(info)  # a cell that is itself a content control
    assert "col3 content" in _lines(info)
    assert "Choose an item." not in info.text  # glossary building block, not content


def _nested_fields(info: DocxInfo) -> None:
    assert "Foundations of Analysis, 1/16/18 8:40:00 AM, 2nd Edition" in info.text
    assert "Classic Set Theory: For Guided Independent Study" in info.text
    for instruction in ("HYPERLINK", "CREATEDATE", "MERGEFORMAT", "books.google.com", "\\l"):
        assert instruction not in info.text


def _rowspan_table(info: DocxInfo) -> None:
    # Two header rows (A-F spanning both rows, E over G H I), then nine rows 1..8.
    assert _lines(info) == list("ABCDEFGHI") + list("12345678") * 9


def _textbox_image(info: DocxInfo) -> None:
    assert _lines(info) == ["The image is below.", "The image is above."]


def _alternate_path(info: DocxInfo) -> None:
    assert _lines(info)[0] == "Test"
    assert "This is italic, bold, underlined, italic underlined" in info.text


def _i18n(info: DocxInfo) -> None:
    assert "This is Heading 1" in _lines(info)
    assert "This is list item 2" in _lines(info)


def _vml_object(info: DocxInfo) -> None:
    assert info.text == "Test with object as image:"


def _unicode_headers(info: DocxInfo) -> None:
    assert "This is a simple header, with a € euro symbol in it." in _lines(info)
    assert "The footer, with Molière, has Unicode in it." in _lines(info)
    assert "\tL'Avare ou l'École du mensonge" in _lines(info)


def _checkboxes(info: DocxInfo) -> None:
    assert "unchecked: ☐ " in _lines(info)
    assert "Or checked: ☒" in _lines(info)
    assert "FORMCHECKBOX" not in info.text


def _field_codes(info: DocxInfo) -> None:
    assert _lines(info) == ["ANTONI", "16 June 2010"]


def _attachments(info: DocxInfo) -> None:
    assert "Русский вариант\t" in _lines(info)
    assert "\tСтраница 1" in _lines(info)  # header
    assert "PAGE" not in info.text
    assert "http://www.google.com" in info.external_links


def _protection(info: DocxInfo) -> None:
    assert info.text == "Tracked changed senza password."


def _no_sections(info: DocxInfo) -> None:
    assert _lines(info)[0] == "Quality Manual"
    assert _lines(info)[-1] == "The current version of the application is 1.0.0."


def _empty_body(info: DocxInfo) -> None:
    assert info.text == ""


# file -> a check on the accepted result, or the refusal reason.
EXPECTED = {
    "python-docx_MIT/hdr-header-footer.docx": _hdr_header_footer,
    "python-docx_MIT/sct-first-page-hdrftr.docx": _first_page_headers,
    "python-docx_MIT/doc-odd-even-hdrs.docx": _odd_even_headers,
    "python-docx_MIT/tbl-cell-access.docx": _merged_cells,
    "python-docx_MIT/comments-rich-para.docx": _comments,
    "python-docx_MIT/sty-having-no-styles-part.docx": _empty_body,
    "python-docx_MIT/par-rendered-page-breaks.docx": _page_breaks,
    "mammoth_BSD-2/utf8-bom.docx": _bom,
    "mammoth_BSD-2/text-box.docx": _text_box,
    "mammoth_BSD-2/external-picture.docx": _external_picture,
    "mammoth_BSD-2/strict-format.docx": "strict",
    "pandoc_GPL-2.0-or-later/track_changes_move.docx": _moves,
    "pandoc_GPL-2.0-or-later/sdt_elements.docx": _content_controls,
    "pandoc_GPL-2.0-or-later/nested_instrText.docx": _nested_fields,
    "pandoc_GPL-2.0-or-later/table_header_rowspan.docx": _rowspan_table,
    "pandoc_GPL-2.0-or-later/textbox_image.docx": _textbox_image,
    "pandoc_GPL-2.0-or-later/alternate_document_path.docx": _alternate_path,
    "pandoc_GPL-2.0-or-later/i18n_blocks.docx": _i18n,
    "pandoc_GPL-2.0-or-later/image_vml_as_object.docx": _vml_object,
    "apache-poi_Apache-2.0/HeaderFooterUnicode.docx": _unicode_headers,
    "apache-poi_Apache-2.0/checkboxes.docx": _checkboxes,
    "apache-poi_Apache-2.0/FieldCodes.docx": _field_codes,
    "apache-poi_Apache-2.0/WordWithAttachments.docx": _attachments,
    "apache-poi_Apache-2.0/documentProtection_trackedChanges_no_password.docx": _protection,
    "apache-poi_Apache-2.0/ExternalEntityInText.docx": "dtd",
    "apache-poi_Apache-2.0/bug53475-password-is-pass.docx": "encrypted",
    "apache-poi_Apache-2.0/truncated62886.docx": "damaged",
    "apache-poi_Apache-2.0/clusterfuzz-testcase-minimized-POIXWPFFuzzer-6733884933668864.docx":
        "damaged",
    "apache-poi_Apache-2.0/60316.dotx": "template",
    "apache-poi_Apache-2.0/SimpleMacro.docm": "macro",
    "apache-poi_Apache-2.0/HeaderFooterUnicode.doc": "legacy_doc",
    "apache-poi_Apache-2.0/Word95.doc": "legacy_doc",
    "apache-poi_Apache-2.0/password_tika_binaryrc4.doc": "legacy_doc",
    "ace-centre_MIT/Main.docx": _no_sections,
}

FILES = sorted(
    path.relative_to(CORPUS).as_posix()
    for path in CORPUS.rglob("*")
    if path.is_file() and path.name != "README.md"
)


def test_corpus_is_present():
    assert len(FILES) >= len(EXPECTED)


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_gets_expected_outcome(name):
    assert name in EXPECTED, f"{name} has no expected outcome in EXPECTED"
    data = (CORPUS / name).read_bytes()
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(UnsupportedFile) as caught:
            inspect_docx(data)
        assert caught.value.details["reason"] == expected
        assert caught.value.status == 415
        return
    info = inspect_docx(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    assert info.entries == len(zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert unicodedata.is_normalized("NFC", info.text)
    assert "\r" not in info.text
    assert extract_text(data) == info.text
    expected(info)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if callable(e)))
def test_accepted_files_list_no_blank_lines(name):
    text = inspect_docx((CORPUS / name).read_bytes()).text
    assert all(line.strip() for line in text.split("\n")) or text == ""


def test_macro_document_refused_whatever_its_name(tmp_path):
    renamed = tmp_path / "Quy trình.docx"
    renamed.write_bytes((CORPUS / "apache-poi_Apache-2.0/SimpleMacro.docm").read_bytes())
    with pytest.raises(UnsupportedFile) as caught:
        inspect_docx(renamed.read_bytes())
    assert caught.value.details["reason"] == "macro"


def test_binary_doc_with_embedded_zip_is_still_legacy():
    # HeaderFooterUnicode.doc holds a zipped theme that zipfile alone would happily open.
    data = (CORPUS / "apache-poi_Apache-2.0/HeaderFooterUnicode.doc").read_bytes()
    assert zipfile.is_zipfile(io.BytesIO(data))
    with pytest.raises(UnsupportedFile) as caught:
        inspect_docx(data)
    assert caught.value.details["reason"] == "legacy_doc"
