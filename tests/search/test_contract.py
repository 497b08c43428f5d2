"""The adapter contract: both backends fold Vietnamese the same way and find the same things."""

import unicodedata
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docctl.search import BACKENDS, IndexDoc, SearchUnavailable, make_backend, parse_query
from docctl.search.base import SCHEMA_VERSION

UNIQUE_OLD = "phụlụccũ"


def doc(rid, code, title, text, *, status="effective", doc_type="procedure", dept="VP",
        day=1, number=1, document_id=None, meta=""):
    return IndexDoc(rid, document_id or rid, code, title, doc_type, dept, status,
                    date(2025, 1, day), number, meta, text)


CORPUS = [
    doc(1, "QT-01", "Quy trình kiểm soát tài liệu",
        "Quy định cách kiểm soát tài liệu nội bộ. Dùng BM-07-02 và BM-07-02 khi cần.",
        number=2, day=10),
    doc(2, "BM-07-02", "Phiếu đề nghị ban hành", "Đơn vị đề nghị ban hành văn bản.",
        doc_type="form", day=3),
    doc(3, "BM-07-20", "Sổ theo dõi văn bản đến", "Ghi số đến, ngày đến.", doc_type="form",
        day=4),
    doc(4, "HD-01", "Hướng dẫn kiểm tra hồ sơ", "Cán bộ kiểm tra hồ sơ trước khi nhận.",
        doc_type="instruction", dept="QLKH", day=5),
    doc(5, "HD-02", "Hướng dẫn kiêm tra hồ sơ", "Cán bộ kiêm tra hồ sơ trước khi nhận.",
        doc_type="instruction", dept="QLKH", day=6),
    doc(6, "QT-01", "Quy trình kiểm soát tài liệu", f"Bản cũ có {UNIQUE_OLD} và an toàn.",
        status="superseded", document_id=1, day=2),
    doc(7, "TLBN-01", "Luật an toàn bức xạ", "Ở đâu, ý kiến. <script>alert(1)</script>",
        status="obsolete", doc_type="external", day=7),
]
EFFECTIVE = {"effective"}


@pytest.fixture
def index(adapter):
    adapter.upsert(CORPUS)
    return adapter


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """Each backend with the corpus, built once for the property-based tests."""
    backends = {}
    for name in BACKENDS:
        path = tmp_path_factory.mktemp(name)
        backend = make_backend(name)
        backend.open(str(path), create=True)
        backend.upsert(CORPUS)
        backends[name] = backend
    yield backends
    for backend in backends.values():
        backend.close()


def ids(index, q, **kw):
    return [h.revision_id for h in index.search(parse_query(q), **kw).hits]


def test_folded_query_finds_accented_text(index):
    assert ids(index, "kiem soat tai lieu", statuses=EFFECTIVE) == [1]
    assert ids(index, "KIỂM SOÁT TÀI LIỆU", statuses=EFFECTIVE) == [1]
    assert ids(index, "don vi de nghi", statuses=EFFECTIVE) == [2]   # đ folded by hand


def test_nfd_and_nfc_queries_find_the_same(index):
    for text in ("kiểm soát tài liệu", "Đơn vị đề nghị", "hướng dẫn kiểm tra"):
        nfd = unicodedata.normalize("NFD", text)
        assert nfd != text
        assert ids(index, nfd, statuses=None) == ids(index, text, statuses=None) != []


@pytest.mark.parametrize("spelling", ["BM-07-02", "BM.07.02", "bm 07 02", "bm0702",
                                      "bm07 02", "Bm-07-02"])
def test_every_spelling_of_a_code_finds_the_form_first(index, spelling):
    found = ids(index, spelling, statuses=EFFECTIVE)
    assert found[0] == 2
    assert 3 not in found   # BM-07-20 is another form


def test_the_procedure_that_mentions_a_code_comes_after_the_form(index):
    assert ids(index, "bm0702", statuses=EFFECTIVE) == [2, 1]


def test_several_words_must_all_match(index):
    assert set(ids(index, "kiem tra ho so", statuses=EFFECTIVE)) == {4, 5}
    assert ids(index, "kiem tra tai lieu", statuses=EFFECTIVE) == []


def test_quotes_make_a_phrase(index):
    assert ids(index, '"kiểm soát tài liệu"', statuses=EFFECTIVE) == [1]
    assert ids(index, '"tài liệu kiểm soát"', statuses=EFFECTIVE) == []
    assert ids(index, '"ho so truoc"', statuses=EFFECTIVE) != []


def test_star_makes_a_prefix(index):
    assert set(ids(index, "kiem*", statuses=EFFECTIVE)) == {1, 4, 5}
    assert set(ids(index, "huong dan ki*", statuses=EFFECTIVE)) == {4, 5}
    assert ids(index, "bm07*", statuses=EFFECTIVE)[:2] in ([2, 3], [3, 2])


def test_exact_diacritics_rank_first(index):
    assert ids(index, "kiểm tra", statuses=EFFECTIVE) == [4, 5]
    assert ids(index, "kiêm tra", statuses=EFFECTIVE) == [5, 4]


def test_metadata_is_searchable(index):
    index.upsert([doc(8, "MT-01", "Mục tiêu", "", doc_type="objective",
                      meta="Mục tiêu chất lượng Phòng Quản lý khoa học")])
    assert ids(index, "quan ly khoa hoc", statuses=EFFECTIVE) == [8]
    assert [h.revision_id for h in index.search(parse_query("MT-01")).hits] == [8]  # no text


def test_statuses_keep_old_words_away(index):
    assert index.search(parse_query(UNIQUE_OLD), statuses=EFFECTIVE).total == 0
    assert index.suggest(parse_query(UNIQUE_OLD[:-1] + "x"), statuses=EFFECTIVE) == []
    assert ids(index, UNIQUE_OLD, statuses=None) == [6]
    assert index.suggest(parse_query("phuluccux")) == ["phuluccu"]
    assert set(ids(index, "an toan", statuses={"effective", "superseded", "obsolete"})) == \
        {6, 7}


def test_include_and_exclude_let_the_database_overrule_the_index(index):
    result = index.search(parse_query("ho so"), statuses=EFFECTIVE, exclude_ids={4})
    assert (result.total, [h.revision_id for h in result.hits]) == (1, [5])
    assert ids(index, UNIQUE_OLD, statuses=EFFECTIVE, include_ids={6}) == [6]
    assert index.suggest(parse_query("phuluccux"), statuses=EFFECTIVE, include_ids={6}) == \
        ["phuluccu"]


def test_type_and_department_filter(index):
    assert set(ids(index, "ho so", statuses=EFFECTIVE, department="QLKH")) == {4, 5}
    assert ids(index, "ho so", statuses=EFFECTIVE, department="VP") == []
    assert ids(index, "van ban", statuses=EFFECTIVE, doc_type="form") in ([2, 3], [3, 2])


def test_sort_by_code_and_by_date(index):
    q = parse_query("tai lieu")
    assert [h.document_code for h in index.search(q, statuses=None, sort="code").hits] == \
        ["QT-01", "QT-01"]
    assert [h.revision_id for h in index.search(q, statuses=None, sort="code").hits] == [1, 6]
    everything = parse_query("hồ sơ văn bản")
    assert ids(index, "văn bản", statuses=None, sort="date") == [3, 2]
    assert index.search(everything, sort="nonsense").total == 0


def test_pages_cover_the_total(index):
    q = parse_query("ho so")
    first = index.search(q, statuses=EFFECTIVE, offset=0, limit=1)
    second = index.search(q, statuses=EFFECTIVE, offset=1, limit=1)
    assert first.total == second.total == 2
    assert {first.hits[0].revision_id, second.hits[0].revision_id} == {4, 5}
    assert index.search(q, statuses=EFFECTIVE, offset=5, limit=1).hits == []


def test_status_change_and_removal(index):
    index.upsert([CORPUS[0].with_status("superseded")])
    assert ids(index, "kiem soat", statuses=EFFECTIVE) == []
    assert index.revision_ids(EFFECTIVE) == {2: "effective", 3: "effective", 4: "effective",
                                             5: "effective"}
    index.remove([2, 999])
    assert ids(index, "bm0702", statuses=None) == [1]
    assert index.doc_count() == len(CORPUS) - 1
    index.upsert([CORPUS[1]])   # upsert twice is the same as once
    index.upsert([CORPUS[1]])
    assert index.doc_count() == len(CORPUS)
    index.clear()
    assert index.doc_count() == 0


def test_reopened_index_keeps_its_documents(index, tmp_path, backend_name):
    index.close()
    again = make_backend(backend_name)
    again.open(str(tmp_path / "index"))
    assert ids(again, "bm0702", statuses=EFFECTIVE) == [2, 1]
    again.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_load_equals_incremental_upserts(index, tmp_path, backend_name, workers):
    loaded = make_backend(backend_name)
    (tmp_path / "bulk").mkdir()
    loaded.open(str(tmp_path / "bulk"), create=True)
    batches = iter([CORPUS[:2], CORPUS[2:4], CORPUS[4:6], CORPUS[6:]])
    assert loaded.load(batches, workers=workers) == len(CORPUS)
    for q in ("kiem tra", "bm0702", '"tài liệu"', "ho*", "an toan", UNIQUE_OLD):
        assert ids(loaded, q, statuses=None) == ids(index, q, statuses=None)
    loaded.close()


def test_missing_foreign_or_broken_index_is_unavailable(tmp_path, backend_name):
    backend = make_backend(backend_name)
    with pytest.raises(SearchUnavailable):
        backend.open(str(tmp_path / "nowhere"))
    other = make_backend(next(n for n in BACKENDS if n != backend_name))
    (tmp_path / "other").mkdir()
    other.open(str(tmp_path / "other"), create=True)
    other.close()
    with pytest.raises(SearchUnavailable):
        backend.open(str(tmp_path / "other"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "docctl-index.json").write_text(
        f'{{"backend": "{backend_name}", "schema": {SCHEMA_VERSION}}}')
    (broken / "meta.json").write_text("garbage")
    with pytest.raises(SearchUnavailable):
        backend.open(str(broken))
        backend.search(parse_query("x"))
    assert SearchUnavailable.status == 503 and SearchUnavailable.code == "search_unavailable"


WORDS = ["kiểm", "kiem", "kiêm", "tra", "soát", "tài", "liệu", "hồ", "sơ", "bm", "07", "02",
         "bm0702", "an", "toàn", "ở", "ý", "đơn", "don", "văn", "bản", UNIQUE_OLD, "zzz"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
       st.sampled_from(["plain", "phrase", "prefix"]),
       st.sampled_from([None, frozenset(EFFECTIVE), frozenset({"superseded", "obsolete"})]))
def test_both_backends_find_the_same_revisions(both, words, shape, statuses):
    text = " ".join(words)
    if shape == "phrase":
        text = f'"{text}"'
    elif shape == "prefix":
        text += "*"
    query = parse_query(text)
    results = {name: b.search(query, statuses=statuses, limit=50) for name, b in both.items()}
    totals = {r.total for r in results.values()}
    found = [{h.revision_id for h in r.hits} for r in results.values()]
    assert len(totals) == 1 and found[0] == found[1], text
    assert len({tuple(b.suggest(query, statuses=statuses)) for b in both.values()}) == 1


SYNTAX = st.sampled_from(['"', "'", "*", ":", "(", ")", "[", "]", "{", "}", "^", "~", "-",
                          "+", "!", "\\", "/", " ", "AND", "OR", "NOT", "title:", "code:",
                          "TO", "\u0301", "\u0323", "ý", "đ", "kiểm", "BM-07-02", "\x00",
                          "\u200b", "💥"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(SYNTAX, max_size=40).map("".join)),
       st.sampled_from(["relevance", "code", "date"]))
def test_no_query_string_raises(both, text, sort):
    query = parse_query(text)
    for backend in both.values():
        result = backend.search(query, statuses=EFFECTIVE, sort=sort)
        assert result.total >= len(result.hits)
        backend.suggest(query, statuses=EFFECTIVE)
