"""Vietnamese analysis, query reading, snippets and corrections, without an index."""

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docctl.domain.textfold import fold
from docctl.search.analysis import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    analyse,
    code_key,
    fold_joined,
    fold_word,
    joined_words,
    mentioned_codes,
    parse_query,
    words,
)
from docctl.search.base import IndexDoc
from docctl.search.snippets import snippet
from docctl.search.suggest import corrections, distance

VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]  # ngang huyền sắc ngã hỏi nặng


@pytest.mark.parametrize("vowel", VOWELS)
@pytest.mark.parametrize("tone", TONES)
def test_every_vowel_with_every_tone_folds_to_its_base_in_both_cases(vowel, tone):
    base = unicodedata.normalize("NFD", vowel)[0]
    for letter in (vowel, vowel.upper()):
        composed = unicodedata.normalize("NFC", letter + tone)
        decomposed = unicodedata.normalize("NFD", composed)
        assert fold_word(words(composed)[0]) == base
        assert words(decomposed) == words(composed)   # NFD input is one word, not split


def test_d_with_stroke_folds_by_hand():
    assert [fold_word(w) for w in words("Đơn vị đề nghị ĐỀ XUẤT")] == \
        ["don", "vi", "de", "nghi", "de", "xuat"]


def test_short_syllables_are_words_not_stop_words():
    assert words("an toàn, in ấn, to lớn, ý kiến, ở đâu") == \
        ["an", "toàn", "in", "ấn", "to", "lớn", "ý", "kiến", "ở", "đâu"]


@pytest.mark.parametrize("spelling", ["BM-07-02", "BM.07.02", "bm 07 02", "bm0702",
                                      "Bm_07_02", "bm/07/02"])
def test_code_spellings_share_one_key(spelling):
    assert code_key(spelling) == "bm0702"
    assert parse_query(spelling).code_key == "bm0702"


def test_codes_in_text_are_found_with_letters_and_digits_only():
    assert mentioned_codes("Dùng mẫu BM-07-02 theo QT.01; mục 1.2.3 và tài-liệu") == \
        ["bm0702", "qt01"]


def test_document_fields_hold_title_code_metadata_and_text():
    doc = IndexDoc(1, 1, "QT-01", "Quy trình Kiểm soát", "procedure", "VP", "effective",
                   meta="Quy trình VP Văn phòng", text="Đơn vị thực hiện BM-07-02")
    fields = analyse(doc)
    title = ["quy", "trình", "kiểm", "soát", "¶"]
    assert fields.exact.split() == title + title + [
        "qt", "01", "¶", "quy", "trình", "vp", "văn", "phòng", "¶", "đơn", "vị", "thực", "hiện",
        "bm", "07", "02"]
    assert fields.folded == " ".join(fold_word(w) if w != "¶" else w
                                     for w in fields.exact.split())
    assert fields.codes == "qt01 bm0702" and fields.code_key == "qt01"


@given(st.text())
def test_folding_a_word_equals_the_domain_fold(text):
    for word in words(text):
        assert fold_word(word) == ("".join(fold(word).split()) or word)
        assert " " not in fold_word(word) and fold_word(word)


VIETNAMESE = st.text(alphabet=st.sampled_from(list(
    "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐEÊOÔƠƯ0123456789 .,;:-_/()\"'\n\t\u00a0–…“”"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "\u0300\u0301\u0303\u0309\u0323ßøæłİΣς中文😀")), max_size=400)


@given(st.one_of(VIETNAMESE, st.text(max_size=200)))
def test_fast_paths_equal_the_word_by_word_analysis(text):
    joined = joined_words(text)
    assert joined == " ".join(words(text))
    assert fold_joined(joined) == " ".join(fold_word(w) for w in joined.split(" ") if w)


def test_query_reads_words_phrases_and_prefixes():
    q = parse_query('  Kiểm   "soát tài liệu"  hồ* ')
    assert [(c.kind, c.exact, c.folded) for c in q.clauses] == [
        ("word", ("kiểm",), ("kiem",)),
        ("phrase", ("soát", "tài", "liệu"), ("soat", "tai", "lieu")),
        ("prefix", ("hồ",), ("ho",)),
    ]
    assert q.text == 'Kiểm "soát tài liệu" hồ*'
    assert q.code_key == "" and not q.code_prefix   # no digit: not read as a code
    assert (parse_query("bm-07*").code_key, parse_query("bm-07*").code_prefix) == ("bm07", True)


@pytest.mark.parametrize("raw,expected", [
    ('"kiểm soát', [("word", "kiem"), ("word", "soat")]),        # unbalanced quote
    ("*", []), ("**", []), ("a*", [("word", "a")]),               # lone star, short prefix
    ("title:quy", [("word", "title"), ("word", "quy")]),
    ("quy AND trình OR NOT (x)", [("word", "quy"), ("word", "and"), ("word", "trinh"),
                                  ("word", "or"), ("word", "not"), ("word", "x")]),
    ('""', []), ('"ý"', [("word", "y")]),
])
def test_query_syntax_is_plain_text(raw, expected):
    assert [(c.kind, " ".join(c.folded)) for c in parse_query(raw).clauses] == expected


def test_query_is_capped_in_length_and_terms():
    q = parse_query(" ".join(f"từ{i}" for i in range(100)))
    assert sum(len(c.exact) for c in q.clauses) == MAX_TERMS
    assert len(parse_query("x" * 1000).text) == MAX_QUERY_CHARS
    assert parse_query("   \t ").empty and parse_query(None).empty


def test_nfd_and_nfc_queries_read_the_same():
    text = "kiểm soát tài liệu Đơn"
    assert parse_query(unicodedata.normalize("NFD", text)).clauses == parse_query(text).clauses


def test_snippet_marks_folded_matches_and_keeps_markup_as_text():
    query = parse_query("kiem tra")
    text = "Mở đầu. " * 30 + "Bước 1: <b>Kiểm tra</b> hồ sơ <script>alert(1)</script>."
    segments = snippet(text, query)
    assert ("Kiểm", True) in segments and ("tra", True) in segments
    joined = "".join(s for s, _ in segments)
    assert "<script>alert(1)</script>" in joined and joined.startswith("…")
    assert all(type(s) is str for s, _ in segments)


def test_snippet_marks_a_phrase_whole_and_prefixes_to_the_word_end():
    segments = snippet("Quy trình kiểm soát tài liệu nội bộ", parse_query('"kiem soat" noi*'))
    assert [s for s, marked in segments if marked] == ["kiểm soát", "nội"]


_SNIPPET_TEXT = st.text(alphabet=st.sampled_from(list("aăâdđeêioôơuưy ÁàẢẫặđĐ_-.\n1")),
                        max_size=80)


@given(_SNIPPET_TEXT, st.sampled_from(["a", "ad", "da1", "ươ", "d*", '"a d"', "e_i", "1"]))
def test_snippet_marks_exactly_the_whole_words_a_plain_regex_finds(text, q):
    # The compiled patterns check the word start after the first letter (for speed): they
    # must mark the same places as the obvious look-behind-first regex over folded text.
    query = parse_query(q)
    marked = [s for s, hit in snippet(text, query, width=10_000) if hit]
    # Fold letter by letter, so offsets in the folded text are offsets in the text.
    folded = "".join(f if len(f := fold(c)) == 1 else c for c in text)
    units = []
    for clause in query.clauses:
        body = r"[\W_]+".join(clause.folded)
        tail = r"[^\W_]*" if clause.kind == "prefix" else r"(?![^\W_])"
        units.append(re.compile(r"(?<![^\W_])" + body + tail))
    spans = sorted({(m.start(), -m.end()) for p in units for m in p.finditer(folded)})
    expected, end = [], -1
    for start, neg_end in spans:
        if start >= end:
            expected.append(" ".join(text[start:-neg_end].split()))
            end = -neg_end
    assert marked == expected


def test_snippet_without_a_match_in_the_text_starts_at_the_beginning():
    assert snippet("Phạm vi áp dụng.", parse_query("QT-01")) == [("Phạm vi áp dụng.", False)]
    assert snippet("", parse_query("x")) == []


def test_corrections_use_only_words_the_caller_calls_visible():
    visible = {"kiem": 3, "soat": 2, "kiet": 1}
    hidden = {"kiemm": 5}
    vocab = list(visible) + list(hidden)
    fix = corrections(parse_query("kiemx soat"), lambda t: visible.get(t, 0),
                      lambda p: [t for t in vocab if t.startswith(p)])
    assert fix[0] == "kiem soat" and all("kiemm" not in f for f in fix)
    assert corrections(parse_query("kiem soat"), lambda t: visible.get(t, 0),
                       lambda p: vocab) == []
    assert distance("kiem", "kiet", 2) == 1 and distance("abc", "xyzw", 2) == 3
