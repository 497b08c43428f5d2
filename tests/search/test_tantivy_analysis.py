"""Tantivy's own analysis reads Vietnamese exactly as analysis.py does, in index and queries."""

import json
import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docctl.domain.textfold import fold
from docctl.search import SearchUnavailable, make_backend, parse_query
from docctl.search.analysis import (
    MAX_WORD,
    SECTION,
    Clause,
    analyse,
    fold_word,
    fold_words,
    mentioned_codes,
    words,
)
from docctl.search.base import MARKER, SCHEMA_VERSION, IndexDoc
from docctl.search.tantivy_analysis import (
    FOLDED,
    WORDS,
    QueryWords,
    analyzers,
    code_chunks,
    lowered,
    prepare,
)

VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]  # ngang huyền sắc ngã hỏi nặng
ANALYZERS = analyzers()
QUERY_WORDS = QueryWords(ANALYZERS)
# Vietnamese in any case and form (NFD marks too), digits, punctuation of office documents.
VIETNAMESE = st.text(alphabet=st.sampled_from(list(
    "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐEÊOÔƠƯ0123456789 .,;:-_/()\"'\n\t\u00a0–…“”•"
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ"
    "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b😀")), max_size=300)


def exact(text: str) -> list[str]:
    return ANALYZERS[WORDS].analyze(lowered(text))


def folded(text: str) -> list[str]:
    return ANALYZERS[FOLDED].analyze(lowered(text))


@pytest.mark.parametrize("vowel", VOWELS)
@pytest.mark.parametrize("tone", TONES)
def test_every_vowel_with_every_tone_folds_as_python_does(vowel, tone):
    base = unicodedata.normalize("NFD", vowel)[0]
    for letter in (vowel, vowel.upper()):
        composed = unicodedata.normalize("NFC", letter + tone)
        for form in (composed, unicodedata.normalize("NFD", composed)):
            assert folded(form) == [fold_word(words(form)[0])] == [fold(composed)] == [base]
            assert exact(form) == words(form) == [composed.lower()]


def test_d_with_stroke_folds_as_python_does():
    text = "Đơn vị đề nghị ĐỀ XUẤT đđ ĐĐ"
    assert folded(text) == fold_words(words(text)) == \
        ["don", "vi", "de", "nghi", "de", "xuat", "dd", "dd"]


@given(VIETNAMESE)
def test_vietnamese_text_splits_and_folds_as_python_does(text):
    assert folded(text) == fold_words(words(text))
    # The exact field also keeps longer words (up to 4 bytes a character); only the folded
    # field decides what a query can find.
    assert [w for w in exact(text) if len(w) <= MAX_WORD] == words(text)


@given(VIETNAMESE, VIETNAMESE, VIETNAMESE)
def test_document_sections_hold_the_words_analysis_gives(title, meta, text):
    doc = IndexDoc(1, 1, "BM-07-02", title, "form", "VP", "effective", meta=meta, text=text)
    ready, python = prepare(doc), analyse(doc)
    tokens = [w for part in ready.sections for w in ANALYZERS[FOLDED].analyze(part)]
    assert tokens == [w for w in python.folded.split() if w != SECTION]
    assert (ready.code_key, ready.codes) == (python.code_key, python.codes)
    assert ready.text == text.encode()   # stored as given: snippets show the original


def test_nfd_documents_index_as_nfc_ones():
    nfc = "Quy trình kiểm soát tài liệu: Đơn vị đề nghị BM-07-02."
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc

    def doc(text):
        return IndexDoc(1, 1, "QT-01", text, "procedure", "VP", "effective", text=text)

    assert prepare(doc(nfd)).sections == prepare(doc(nfc)).sections
    assert prepare(doc(nfd)).codes == prepare(doc(nfc)).codes == "qt01 bm0702"


@given(VIETNAMESE)
def test_query_words_are_read_as_the_index_reads_them(text):
    query = parse_query(text)
    for clause in query.clauses:
        terms = QUERY_WORDS.clause(clause)
        if any(len(w) > MAX_WORD for w in clause.exact):
            assert terms is None   # the index holds no such word
            continue
        assert terms.folded == clause.folded   # Vietnamese folds as in analysis.py
        assert list(terms.folded) == folded(" ".join(clause.exact))
        assert list(terms.exact) == exact(" ".join(clause.exact))


def test_a_word_the_index_cannot_hold_matches_nothing():
    long = "a" * (MAX_WORD + 1)
    assert folded(long) == [] and words(long) == []
    assert QUERY_WORDS.clause(Clause("word", (long,), (long,))) is None
    # The limit counts bytes of the folded word: unfolded scripts reach it sooner.
    assert folded("中" * 21) == words("中" * 21) and folded("中" * 22) == []


@pytest.mark.parametrize(("letter", "tantivy", "python"), [
    ("ß", "ss", "ß"), ("æ", "ae", "æ"), ("ø", "o", "ø"), ("ł", "l", "ł"), ("œ", "oe", "œ"),
    ("й", "й", "и"), ("ά", "ά", "α")])
def test_folding_differences_outside_vietnamese_are_the_accepted_ones(letter, tantivy, python):
    # Pinned: a tantivy upgrade that folds otherwise is noticed (see tantivy_analysis.py).
    assert folded(letter) == [tantivy]
    assert fold_words(words(letter)) == [python]


@given(st.text(alphabet=st.sampled_from(list("ab1-./_ \n\tđĐế07")), max_size=200))
def test_code_chunks_keep_every_code_mentioned_codes_finds(text):
    assert mentioned_codes(code_chunks(text.encode())) == mentioned_codes(text)


def test_code_chunks_hold_only_the_chunks_around_codes():
    text = "Dùng mẫu BM-07-02 theo\nQT.01; mục 1.2.3 và tài-liệu"
    assert code_chunks(text.encode()) == "BM-07-02 QT.01; 1.2.3"
    assert mentioned_codes(code_chunks(text.encode())) == ["bm0702", "qt01"]


def test_a_code_at_the_very_start_of_the_text_is_found():
    assert mentioned_codes("BM-07-02 là biểu mẫu") == ["bm0702"]
    assert mentioned_codes(code_chunks("BM-07-02 là biểu mẫu".encode())) == ["bm0702"]


@pytest.fixture
def index(tmp_path):
    backend = make_backend("tantivy")
    backend.open(str(tmp_path), create=True)
    yield backend
    backend.close()


def test_a_phrase_never_runs_from_one_section_into_the_next(index):
    index.upsert([IndexDoc(1, 1, "QT-01", "alpha beta", "procedure", "VP", "effective",
                           date(2025, 1, 1), 1, "gamma delta", "epsilon zeta")])
    inside = ['"alpha beta"', '"qt 01"', '"gamma delta"', '"epsilon zeta"']
    across = ['"beta alpha"', '"beta qt"', '"01 gamma"', '"delta epsilon"']
    assert [index.search(parse_query(q)).total for q in inside] == [1, 1, 1, 1]
    assert [index.search(parse_query(q)).total for q in across] == [0, 0, 0, 0]


def test_query_folds_as_the_index_does_outside_vietnamese_too(index):
    index.upsert([IndexDoc(1, 1, "TL-01", "Straße", "external", "VP", "effective",
                           text="Ærø og Łódź")])
    for q in ("strasse", "straße", "aero", "ærø", "lodz", '"aero og lodz"'):
        assert [h.revision_id for h in index.search(parse_query(q)).hits] == [1], q


def test_an_index_of_the_previous_schema_must_be_rebuilt(tmp_path):
    backend = make_backend("tantivy")
    backend.open(str(tmp_path), create=True)
    backend.close()
    (tmp_path / MARKER).write_text(json.dumps({"backend": "tantivy",
                                               "schema": SCHEMA_VERSION - 1}))
    with pytest.raises(SearchUnavailable):
        make_backend("tantivy").open(str(tmp_path))
