"""The Whoosh bulk loader writes the segment Whoosh's own writer would, with bounded memory."""

import os
import random
from datetime import date

import pytest
from whoosh import index as whoosh_index

from docctl.search import IndexDoc, SearchBusy, make_backend, parse_query, whoosh_backend
from docctl.search import whoosh_bulk as bulk
from docctl.search import whoosh_rebuild as rebuild

VOCABULARY = ("kiểm soát tài liệu hồ sơ quy trình văn bản ban hành đơn vị cán bộ phiếu đề nghị "
              "lưu trữ phê duyệt sửa đổi bảo mật an toàn thông tin nội bộ trách nhiệm thực hiện "
              "báo cáo định kỳ kiem tra ho so the lệ điều khoản phạm vi áp dụng mục đích đánh "
              "giá rủi ro khắc phục phòng ngừa giám đốc trưởng phòng nhân viên")
WORDS = VOCABULARY.split()
QUERIES = ("kiểm soát", "kiem soat", "tài liệu", '"quy trình văn bản"', '"ho so the"',
           "ban*", "phê duyệt", "rủi ro khắc phục", "bm0702", "QT-0042", '"an toàn thông tin"')


def corpus(count: int, seed: int = 5) -> list[IndexDoc]:
    """Return documents of Vietnamese words: common ones in most, rare ones in a few."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    docs = []
    for i in range(1, count + 1):
        text = " ".join(rng.choices(WORDS, weights, k=rng.randint(5, 60)))
        if i % 7 == 0:
            text += " theo BM-07-02"
        docs.append(IndexDoc(i, i, f"QT-{i:04d}", " ".join(rng.choices(WORDS, k=4)),
                             "procedure", "VP", "effective" if i % 5 else "superseded",
                             date(2025, 1, 1 + i % 28), 1, "Quy trình VP", text))
    return docs


def batches(docs: list, size: int) -> list[list]:
    return [docs[i:i + size] for i in range(0, len(docs), size)]


def new_index(path):
    path.mkdir()
    return whoosh_index.create_in(str(path), whoosh_backend._schema())


def segment_files(ix) -> dict:
    """Return the one segment's document count, field lengths and files (by name, less id)."""
    [segment] = ix._segments()
    files = segment.open_compound_file(ix.storage)
    return {"docs": segment.doc_count_all(), "lengths": segment._fieldlengths,
            **{name.split(".", 1)[1]: files.open_file(name).read() for name in files.list()}}


def read_back(ix) -> dict:
    """Return every term's info and postings, with their blocks' statistics, as read back."""
    out = {}
    with ix.reader() as reader:
        for fieldname, tbytes in reader.all_terms():
            info = reader.term_info(fieldname, tbytes)
            matcher, postings = reader.postings(fieldname, tbytes), []
            while matcher.is_active():
                postings.append((matcher.id(), matcher.weight(), matcher.value(),
                                 matcher.block_min_length(), matcher.block_max_length(),
                                 matcher.block_max_weight()))
                matcher.next()
            out[fieldname, tbytes] = (info.weight(), info.doc_frequency(), info.min_length(),
                                      info.max_length(), info.max_weight(), info.min_id(),
                                      info.max_id(), postings)
    return out


@pytest.fixture(scope="module")
def docs():
    return corpus(400)


@pytest.fixture(scope="module")
def whoosh_ix(docs, tmp_path_factory):
    """The index Whoosh's own writer makes of the corpus, one document at a time."""
    ix = new_index(tmp_path_factory.mktemp("whoosh") / "ix")
    writer = ix.writer()
    for fields in whoosh_backend._prepare(docs):
        writer.add_document(**fields)
    writer.commit()
    return ix


@pytest.fixture(scope="module")
def whoosh_files(whoosh_ix):
    return segment_files(whoosh_ix)


@pytest.mark.parametrize(("workers", "run_postings", "batch"), [
    (1, None, 400),                # every posting in memory
    (1, 3_000, 50),                # many runs, spilled between documents
    (2, 3_000, 37),                # worker processes, a run per batch or more
    (1, 1, 100),                   # a run per document
])
def test_bulk_segment_is_byte_for_byte_whoosh_s_own(docs, whoosh_files, tmp_path, workers,
                                                     run_postings, batch):
    ix = new_index(tmp_path / "ix")
    count = rebuild.load(ix, batches(docs, batch), whoosh_backend._prepare, workers=workers,
                         run_postings=run_postings)
    assert count == len(docs)
    files = segment_files(ix)
    assert set(files) == set(whoosh_files)
    for name, expected in whoosh_files.items():
        assert files[name] == expected, name
    # Runs and pools leave nothing behind.
    assert not [n for n in os.listdir(tmp_path / "ix") if n.endswith((".tmp", ".bulkrun"))]


@pytest.mark.parametrize("helper_dies", [False, True])
def test_two_writing_processes_write_whoosh_s_postings(docs, whoosh_ix, whoosh_files, tmp_path,
                                                       monkeypatch, helper_dies):
    # Every other term's postings come from a forked helper, appended to the postings file:
    # the files differ from Whoosh's in layout only.
    monkeypatch.setattr(rebuild, "HELPER_POSTINGS", 0)
    if helper_dies:
        monkeypatch.setattr(rebuild, "_write_half", lambda *args: os._exit(3))
    ix = new_index(tmp_path / "ix")
    assert rebuild.load(ix, batches(docs, 60), whoosh_backend._prepare, workers=2,
                        run_postings=5_000) == len(docs)
    files = segment_files(ix)
    for name in ("docs", "lengths", *(n for n in whoosh_files if n.endswith(".col"))):
        assert files[name] == whoosh_files[name], name
    assert read_back(ix) == read_back(whoosh_ix)
    assert not [n for n in os.listdir(tmp_path / "ix") if n.endswith((".tmp", ".bulkrun"))]


def test_terms_with_many_blocks_span_runs(docs, tmp_path):
    writer = bulk.BulkWriter(new_index(tmp_path / "ix"), run_postings=2_000)
    for fields in whoosh_backend._prepare(docs):
        writer.add_document(**fields)
        # The pool stays within its budget, give or take one document's postings.
        assert writer.pool.count < 2_000
    assert len(writer.pool.runs) > 5
    postings = dict(((f, t), p) for f, t, p in writer.pool.sorted_postings())
    common = postings["folded", b"kiem"]
    assert len(common.docs) > 2 * 128   # several of Whoosh's blocks
    assert list(common.docs) == sorted(common.docs)
    writer.cancel()


def test_pool_yields_whoosh_s_postings(docs, tmp_path):
    ix = new_index(tmp_path / "ix")
    reference = ix.writer()
    ours = bulk.BulkWriter(new_index(tmp_path / "bulk"), run_postings=500)
    for fields in whoosh_backend._prepare(docs[:60]):
        reference.add_document(**fields)
        ours.add_document(**fields)
    expected = list(reference.pool.iter_postings())
    assert list(ours.pool.iter_postings()) == [(f, t, d, w, v or b"") for f, t, d, w, v
                                                in expected]
    reference.cancel()
    ours.cancel()


def ranked(backend, q: str) -> list[tuple[int, float]]:
    result = backend.search(parse_query(q), statuses=None, limit=500)
    return [(hit.revision_id, round(hit.score, 4)) for hit in result.hits]


@pytest.mark.parametrize("workers", [1, 2])
def test_rebuild_ranks_as_incremental_upserts(docs, tmp_path, monkeypatch, workers):
    incremental = make_backend("whoosh")
    (tmp_path / "upserts").mkdir()
    incremental.open(str(tmp_path / "upserts"), create=True)
    for part in batches(docs, 100):
        incremental.upsert(part)
    # A small budget: the rebuild spills several runs, cutting documents' postings apart;
    # with workers, a helper process writes every other term.
    monkeypatch.setattr(bulk, "RUN_POSTINGS", 4_000)
    monkeypatch.setattr(rebuild, "HELPER_POSTINGS", 0)
    loaded = make_backend("whoosh")
    (tmp_path / "bulk").mkdir()
    loaded.open(str(tmp_path / "bulk"), create=True)
    assert loaded.load(iter(batches(docs, 64)), workers=workers) == len(docs)
    assert loaded.doc_count() == incremental.doc_count() == len(docs)
    for q in QUERIES:
        assert ranked(loaded, q) == ranked(incremental, q), q
    assert loaded.revision_ids() == incremental.revision_ids()
    # The loaded index takes incremental changes like any other.
    loaded.upsert([docs[0].with_status("obsolete")])
    loaded.remove([docs[1].revision_id])
    assert loaded.revision_ids()[docs[0].revision_id] == "obsolete"
    assert docs[1].revision_id not in loaded.revision_ids()
    loaded.close()
    incremental.close()


def test_phrase_across_a_spill_is_found(tmp_path, monkeypatch):
    words = ["đánh", "giá", "rủi", "ro", "định", "kỳ"]
    docs = [IndexDoc(i, i, f"HD-{i:02d}", "Hướng dẫn", "instruction", "VP", "effective",
                     text=" ".join(words[:i % 5] + ["xen"] + words))
            for i in range(1, 41)]
    monkeypatch.setattr(bulk, "RUN_POSTINGS", 25)   # a run every document or two
    backend = make_backend("whoosh")
    backend.open(str(tmp_path), create=True)
    assert backend.load(iter(batches(docs, 8))) == len(docs)
    for phrase in ('"rủi ro định kỳ"', '"xen đánh giá"', '"xen danh gia rui"'):
        assert backend.search(parse_query(phrase), statuses=None, limit=100).total \
            == len(docs), phrase
    backend.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_nothing_to_load_leaves_an_empty_index(tmp_path, workers):
    backend = make_backend("whoosh")
    backend.open(str(tmp_path), create=True)
    assert backend.load(iter([]), workers=workers) == 0
    assert backend.load(iter([[]]), workers=workers) == 0
    assert backend.doc_count() == 0
    backend.close()


def _fail_on_last(docs):
    if docs[-1].revision_id == 400:
        raise RuntimeError("boom")
    return whoosh_backend._prepare(docs)


@pytest.mark.parametrize("workers", [1, 2])
def test_failed_load_commits_nothing_and_releases_the_lock(docs, tmp_path, workers):
    ix = new_index(tmp_path / "ix")
    with pytest.raises(RuntimeError, match="boom"):
        rebuild.load(ix, batches(docs, 50), _fail_on_last, workers=workers, run_postings=3_000)
    assert ix.doc_count_all() == 0
    assert not [n for n in os.listdir(tmp_path / "ix") if n.endswith((".tmp", ".bulkrun"))]
    assert rebuild.load(ix, batches(docs[:10], 5), whoosh_backend._prepare) == 10


def test_failure_while_writing_stops_the_helper_and_commits_nothing(docs, tmp_path,
                                                                    monkeypatch):
    write_terms = rebuild._write_terms

    def fail_here(writer, lengths, half, postfile):
        if half == 0:   # this process's half; the forked helper writes the other
            raise OSError("disk full")
        return write_terms(writer, lengths, half, postfile)

    monkeypatch.setattr(rebuild, "HELPER_POSTINGS", 0)
    monkeypatch.setattr(rebuild, "_write_terms", fail_here)
    ix = new_index(tmp_path / "ix")
    with pytest.raises(OSError, match="disk full"):
        rebuild.load(ix, batches(docs, 100), whoosh_backend._prepare, workers=2)
    assert ix.doc_count_all() == 0
    assert not [n for n in os.listdir(tmp_path / "ix") if n.endswith((".tmp", ".bulkrun"))]
    assert rebuild.load(ix, batches(docs[:10], 5), whoosh_backend._prepare) == 10


def _exit_in_a_worker(docs):
    if os.getpid() != PARENT:
        os._exit(3)   # a worker killed mid-batch
    return whoosh_backend._prepare(docs)


PARENT = os.getpid()


def test_dead_worker_falls_back_to_this_process(docs, whoosh_files, tmp_path):
    ix = new_index(tmp_path / "ix")
    assert rebuild.load(ix, batches(docs, 100), _exit_in_a_worker, workers=2) == len(docs)
    assert segment_files(ix)["pst"] == whoosh_files["pst"]


def _drop_first(docs):
    return whoosh_backend._prepare(docs[1:])


def test_workers_need_one_field_dict_per_document(docs, tmp_path):
    # Workers number documents before preparing them: a batch may not shrink.
    ix = new_index(tmp_path / "ix")
    with pytest.raises(ValueError, match="one field dict per document"):
        rebuild.load(ix, batches(docs[:20], 10), _drop_first, workers=2)


def test_load_waits_for_the_writer_lock_then_reports_busy(tmp_path, monkeypatch):
    backend = make_backend("whoosh")
    backend.open(str(tmp_path), create=True)
    lock = backend._index().lock("WRITELOCK")
    assert lock.acquire()
    monkeypatch.setattr(whoosh_backend, "LOCK_WAIT", 0.2)
    with pytest.raises(SearchBusy):
        backend.load(iter([corpus(3)]))
    lock.release()
    assert backend.load(iter([corpus(3)])) == 3
    backend.close()
