import unicodedata

import pytest

from docctl.domain.textfold import (
    clean_line,
    code_slug,
    fold,
    has_control_chars,
    is_valid_code,
    nfc,
    normalise_code,
)

VOWELS = "aăâeêioôơuưy"
TONES = ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]  # huyền sắc ngã hỏi nặng


@pytest.mark.parametrize("vowel", VOWELS)
@pytest.mark.parametrize("tone", TONES)
def test_every_vowel_with_every_tone_folds_to_its_base(vowel, tone):
    composed = unicodedata.normalize("NFC", vowel + tone)
    base = unicodedata.normalize("NFD", vowel)[0]
    assert fold(composed) == base
    assert fold(composed.upper()) == base


def test_d_with_stroke_folds_by_hand():
    assert fold("Đơn vị đề nghị") == "don vi de nghi"


def test_nfd_and_nfc_fold_alike():
    text = "Quy trình kiểm soát tài liệu"
    assert fold(unicodedata.normalize("NFD", text)) == fold(text) == "quy trinh kiem soat tai lieu"
    assert nfc(unicodedata.normalize("NFD", text)) == text


@pytest.mark.parametrize("code", ["QT-01", "BM-01-02", "BM.07.02", "QĐ-01", "HD_03", "TLBN-1"])
def test_valid_codes(code):
    assert is_valid_code(code)


@pytest.mark.parametrize("code", ["", "QT 01", "../x", "QT/01", "-QT", "QT--01", "QT-01.",
                                  "QT\u202e10", "QT\x0001", "a" * 41, "<script>", "QT;01"])
def test_invalid_codes(code):
    assert not is_valid_code(code)


def test_bidi_override_is_a_control_char():
    assert has_control_chars("QT\u202e-01")


def test_code_slug_is_ascii():
    assert code_slug("QĐ-01") == "QD-01"
    assert code_slug("bm.07.02") == "BM.07.02"


def test_normalise_code_upper_nfc():
    assert normalise_code(unicodedata.normalize("NFD", " qđ-01 ")) == "QĐ-01"


def test_clean_line_removes_newlines_and_controls():
    assert clean_line("a\r\nb\tc\u202e d") == "a b c d"
