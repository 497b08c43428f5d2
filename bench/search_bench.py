"""Search bench: Whoosh at 2,000 and tantivy at 20,000 Vietnamese documents, beside SQLite FTS5.

Run `python bench/search_bench.py` (`--quick` for fewer documents, `--backend tantivy` for one).
Query latencies are measured through docctl.services.search.search inside an app context, the
function the search page and `GET /api/v1/search?q=` call; HTTP figures come when that API
lands. SQLite FTS5 (unicode61 remove_diacritics 2, đ folded by hand) indexes the same corpus,
engine only, and each of our figures is printed beside it as a ratio.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import unicodedata
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from datetime import UTC, date, datetime  # noqa: E402

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import selectinload  # noqa: E402

from bench import world  # noqa: E402
from bench.report import summary  # noqa: E402
from docctl.domain.textfold import code_slug, fold  # noqa: E402
from docctl.models import Document, Revision  # noqa: E402

TARGETS = {
    "whoosh": {"docs": 2_000, "p95": 50.0, "phrase": 150.0, "reindex": 200.0},
    "tantivy": {"docs": 20_000, "p95": 20.0, "phrase": 50.0, "reindex": 2_000.0},
}
QUICK_DOCS = {"whoosh": 400, "tantivy": 3_000}
KINDS = ["one-word", "two-word", "phrase", "prefix", "unaccented", "code"]
QUERIES_PER_KIND = 40
REPEATS = 2
PUBLISHES = 5
BATCH = 500
OUT = ROOT / "bench" / "out" / "search.json"


# Words of agency procedures; sentences drawn from them with a Zipf-like skew.
_WORDS = (
    "quy trình kiểm soát tài liệu hồ sơ biểu mẫu phê duyệt ban hành sửa đổi bổ sung lãnh đạo "
    "phòng ban đơn vị cán bộ công chức thủ tục hành chính tiếp nhận giải quyết trả kết quả "
    "chất lượng mục tiêu chính sách hướng dẫn công việc đánh giá nội bộ khắc phục phòng ngừa "
    "rủi ro cơ hội cải tiến khách hàng tổ chức cá nhân thời hạn lưu trữ bảo quản hủy xem xét "
    "định kỳ năng lực đào tạo nhân sự cơ sở vật chất môi trường làm việc theo dõi đo lường "
    "phân tích dữ liệu sự không phù hợp trách nhiệm quyền hạn thẩm quyền ký văn thư lưu hành "
    "nơi nhận phạm vi áp dụng định nghĩa viết tắt nội dung tiến trình thực hiện biên bản báo "
    "cáo kế hoạch thông báo quyết định tờ trình ở ý an in to y tế giáo dục khoa học công nghệ "
    "tiêu chuẩn sở hữu trí tuệ an toàn bức xạ giấy phép thẩm định hội đồng nghiệm thu đề tài "
    "dự án ngân sách kinh phí thanh toán quyết toán hợp đồng nhiệm vụ cấp tỉnh cấp cơ sở "
    "đăng ký chứng nhận kiểm định hiệu chuẩn phương tiện đo mã số mã vạch tem nhãn hàng hóa "
    "thanh tra kiểm tra xử lý vi phạm khiếu nại tố cáo tiếp công dân một cửa liên thông "
    "trực tuyến cổng dịch vụ công điện tử số hóa chữ ký số bảo mật thông tin mạng máy chủ "
    "sao lưu phục hồi sự cố báo cáo định kỳ tổng hợp thống kê chỉ tiêu tiến độ đôn đốc")
VOCAB = sorted(set(_WORDS.split()))
# A long tail of syllables beside them, as real texts have: rarer words, fewer documents.
_ONSET_TEXT = "b c ch d đ g h k kh l m n ng nh ph qu s t th tr v x"
_ONSETS = _ONSET_TEXT.split() + [""]
_RHYME_TEXT = ("a ai an ang anh at ac am ao ay ăn ăng ăt âm ân âng ât âu ây e em en et eo ê êm "
               "ên ênh êt êu i im in inh it ich iêu iên iêt o oi om on ong ot oc oa oan oat ô ôi "
               "ôm ôn ông ôt ôc ơ ơi ơm ơn ơt u ui um un ung ut uc uân uât uôi uôn uông uôc ư ưa "
               "ưi ưng ưt ưc ươi ươn ương ươc ươt")
_RHYMES = _RHYME_TEXT.split()
_TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]


def _syllables(rng: random.Random, count: int) -> list[str]:
    """Return count distinct made-up Vietnamese syllables, tone marks included."""
    found: set[str] = set(VOCAB)
    out = []
    while len(out) < count:
        rhyme = rng.choice(_RHYMES)
        # The tone sits on the vowel with a hat or horn if there is one, else the first vowel.
        at = max((i for i, c in enumerate(rhyme) if c in "âăêôơư"), default=0)
        word = unicodedata.normalize(
            "NFC", rng.choice(_ONSETS) + rhyme[:at + 1] + rng.choice(_TONES) + rhyme[at + 1:])
        if word not in found:
            found.add(word)
            out.append(word)
    return out


class Corpus:
    """Documents of Vietnamese text (~8 KB each), reproducible from a seed."""

    TYPES = [("procedure", "QT", "Quy trình"), ("instruction", "HD", "Hướng dẫn"),
             ("form", "BM", "Biểu mẫu"), ("external", "TLBN", "Văn bản")]

    def __init__(self, seed: int, documents: int):
        self.rng = random.Random(seed)
        self.documents = documents
        words = VOCAB + _syllables(self.rng, 3_000)
        # Zipf-like: the agency words are the common ones, the made-up syllables the tail.
        # Exponent 1.1: ~540 distinct words in 8 KB, as in the agencies' procedures.
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(words))]
        self.sentences = [" ".join(self.rng.choices(words, weights, k=self.rng.randint(8, 18)))
                          for _ in range(3_000)]
        self.codes = [self.code(i) for i in range(documents)]

    def code(self, i: int) -> str:
        _type, prefix, _noun = self.TYPES[i % 4]
        return f"BM-{i // 100:02d}-{i % 100:02d}" if prefix == "BM" else f"{prefix}-{i:05d}"

    def text(self) -> str:
        parts, size = [], 0
        while size < 8_000:
            sentence = self.rng.choice(self.sentences)
            if self.rng.random() < 0.02:
                sentence += f" theo biểu mẫu {self.rng.choice(self.codes)}"
            parts.append(sentence[0].upper() + sentence[1:] + ".")
            size += len(parts[-1]) + 1
        return "\n".join(" ".join(parts[i:i + 6]) for i in range(0, len(parts), 6))

    def batches(self, size: int):
        """Yield lists of document specs: (number, code, type, title, meta, dept, texts)."""
        for start in range(0, self.documents, size):
            batch = []
            for i in range(start, min(start + size, self.documents)):
                doc_type, _prefix, noun = self.TYPES[i % 4]
                title = f"{noun} {' '.join(self.rng.choices(VOCAB, k=self.rng.randint(3, 7)))}"
                texts = [self.text() for _ in range(2 if i % 10 == 0 else 1)]
                batch.append(_Spec(i, self.codes[i], doc_type, title, noun, 1 + i % 3, texts))
            yield batch

    def insert(self, db, author: int, approver: int, batch) -> list:
        """Store a batch as documents with effective (and some superseded) revisions."""
        at = datetime(2025, 1, 2, 2, 0, tzinfo=UTC)
        db.session.execute(insert(Document), [
            {"code": d.code, "slug": code_slug(d.code), "doc_type": d.doc_type,
             "title": d.title, "department_id": d.dept, "review_months": 12,
             "status": "effective", "created_by_id": author, "created_at": at, "version": 1,
             "external_source": "Chính phủ" if d.doc_type == "external" else None}
            for d in batch])
        ids = dict(db.session.execute(select(Document.code, Document.id).where(
            Document.code.in_([d.code for d in batch]))).all())
        rows = []
        for d in batch:
            for number, text in enumerate(d.texts, 1):
                current = number == len(d.texts)
                rows.append({
                    "document_id": ids[d.code], "number": number,
                    "status": "effective" if current else "superseded", "reason": "",
                    "filename": f"{d.number}.docx", "size": len(text),
                    "sha256": hashlib.sha256(text.encode()).hexdigest(), "text": text,
                    "author_id": author, "created_at": at, "approver_id": approver,
                    "review_round": 1, "approved_at": at, "effective_date": date(2025, 1, 2),
                    "effective_at": at, "commit_sha": "0" * 40, "tag": f"{d.number}/r{number}"})
        db.session.execute(insert(Revision), rows)
        db.session.commit()
        return list(db.session.scalars(select(Revision).where(
            Revision.document_id.in_(list(ids.values()))).options(
            selectinload(Revision.document).selectinload(Document.department))))

    def queries(self, kind: str, n: int) -> list[str]:
        """Return n queries of a kind, drawn from the corpus' own words and codes."""
        out = []
        while len(out) < n:
            words = self.rng.choice(self.sentences).split()
            at = self.rng.randrange(max(1, len(words) - 3))
            if kind == "one-word":
                out.append(self.rng.choice(words))
            elif kind == "two-word":
                out.append(" ".join(words[at:at + 2]))
            elif kind == "phrase":
                out.append('"' + " ".join(words[at:at + 3]) + '"')
            elif kind == "prefix":
                word = fold(self.rng.choice([w for w in VOCAB if len(w) >= 3]))
                out.append(word[:max(3, len(word) - 1)] + "*")
            elif kind == "unaccented":
                out.append(fold(" ".join(words[at:at + 2])))
            else:
                code = self.rng.choice(self.codes)
                spellings = [code, code.replace("-", "."), code.replace("-", " ").lower(),
                             code.replace("-", "").lower()]
                out.append(self.rng.choice(spellings))
        return out


class _Spec:
    __slots__ = ("number", "code", "doc_type", "title", "meta", "dept", "texts")

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


def fts_query(kind: str, q: str) -> str:
    """Return our query in FTS5 syntax (each word quoted; đ folded by hand)."""
    from docctl.search.analysis import words

    tokens = [_fold_d(w) for w in words(q)]
    if kind == "phrase" or kind == "code":
        return '"' + " ".join(tokens) + '"'
    if kind == "prefix":
        return f'"{tokens[0]}" *'
    return " ".join(f'"{t}"' for t in tokens)


class Printer:
    """Print each figure against its target, with the FTS5 figure beside it as a ratio."""

    def __init__(self):
        self.rows: list[dict] = []

    def figure(self, label: str, value: float, unit: str, *, target: float | None = None,
               floor: bool = False, fts: float | None = None, extra: str = "") -> None:
        """Print one figure; a target is a ceiling unless floor (then value must reach it)."""
        if target is None:
            verdict, ok = "(no target)", True
        else:
            ok = value >= target if floor else value <= target
            gap = (target - value) if floor else (value - target)
            sign = "-" if floor else "+"
            verdict = "OK" if ok else f"MISSING (gap {sign}{_num(gap)} {unit})"
        bound = "" if target is None else f"target {'≥' if floor else '≤'} {_num(target)} {unit}"
        line = f"  {label:<34} {_num(value):>9} {unit:<6} {bound:<24} {verdict}"
        if fts:
            line += f"   FTS5 {_num(fts)} {unit}: ×{value / fts:.2f}"
        if extra:
            line += f"   [{extra}]"
        print(line, flush=True)
        self.rows.append({"label": label, "value": round(value, 3), "unit": unit,
                          "target": target, "floor": floor, "ok": ok,
                          "fts5": None if fts is None else round(fts, 3), "extra": extra})


def _num(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def run_backend(name: str, docs: int, printer: Printer, tmp: Path) -> None:
    """Build one backend's world, fill it, and print its figures."""
    from docctl.services import search as search_service

    target = TARGETS[name]
    print(f"\n{name}: {docs:,} documents (~8 KB of Vietnamese text each)", flush=True)
    data_dir = tmp / name
    app = _app(data_dir, name)
    corpus = Corpus(seed=7, documents=docs)
    fts = _Fts(tmp / f"{name}-fts5.sqlite")
    with app.app_context():
        people = world.create_schema_and_people()
        upsert_s, count = _fill(app, corpus, fts, people)
        people = {u: world.db.session.scalar(select(world.User).where(
            world.User.username == u)) for u, _role in world.PEOPLE}
        printer.figure("adapter upsert (bulk, incremental)", count / upsert_s, "docs/s",
                       extra=f"{count:,} revisions in {upsert_s:.1f} s")
        t0 = perf_counter()
        rebuilt = search_service.reindex()
        reindex_s = perf_counter() - t0
        printer.figure("full reindex from the database", rebuilt / reindex_s, "docs/s",
                       target=target["reindex"], floor=True, fts=fts.rate(),
                       extra=f"{rebuilt:,} revisions in {reindex_s:.1f} s")
        staff = people["staff"]
        for kind in KINDS:
            queries = corpus.queries(kind, QUERIES_PER_KIND)
            ours = _time_service(search_service, staff, queries)
            theirs = fts.time_queries([fts_query(kind, q) for q in queries])
            limit = target["phrase"] if kind == "phrase" else target["p95"]
            printer.figure(f"{kind} query p95", ours["p95"], "ms", target=limit,
                           fts=theirs["p95"],
                           extra=f"p50 {ours['p50']:.1f} ms, FTS5 p50 {theirs['p50']:.2f} ms, "
                                 f"n={ours['n']}")
        delays = _publish_delays(search_service, people)
        printer.figure("publish-to-searchable delay p50", summary(delays)["p50"], "ms",
                       extra=f"max {max(delays):.0f} ms, n={len(delays)}; "
                             "index jobs applied + search")
        world.db.session.remove()
        world.db.engine.dispose()
    app.extensions["docctl.store"].close()
    fts.close()


def _app(data_dir: Path, backend: str):
    from config import Config
    from docctl import create_app

    class BenchConfig(Config):
        DATA_DIR = str(data_dir)

    return create_app(BenchConfig, SEARCH_BACKEND=backend)


def _fill(app, corpus: Corpus, fts: "_Fts", people) -> tuple[float, int]:
    """Insert the corpus into the database and FTS5; index it by adapter upserts."""
    from docctl.search import make_backend
    from docctl.services import search as search_service

    index_dir = app.config["INDEX_DIR"]
    shutil.rmtree(index_dir, ignore_errors=True)
    os.makedirs(index_dir)
    backend = make_backend(app.config["SEARCH_BACKEND"])
    backend.open(index_dir, create=True)
    upsert_s, count, t_start = 0.0, 0, perf_counter()
    author, approver = people["secretary"].id, people["approver"].id
    for batch in corpus.batches(BATCH):
        revisions = corpus.insert(world.db, author, approver, batch)
        fts.add(batch)
        t0 = perf_counter()
        backend.upsert([search_service.index_doc(r) for r in revisions])
        upsert_s += perf_counter() - t0
        count += len(revisions)
        world.db.session.expunge_all()
    backend.close()
    print(f"    · corpus generated and stored in {perf_counter() - t_start:.0f} s", flush=True)
    return upsert_s, count


def _time_service(search_service, user, queries: list[str]) -> dict:
    for q in queries[:5]:   # warm caches and the reader
        search_service.search(user, q)
    samples = []
    for _ in range(REPEATS):
        for q in queries:
            t0 = perf_counter()
            search_service.search(user, q)
            samples.append((perf_counter() - t0) * 1000)
    return summary(samples)


def _publish_delays(search_service, people) -> list[float]:
    """Publish through the services; time from the committed publish until search finds it.

    Publishing applies its own index jobs (catch_up) right after its transaction: that call
    is timed, plus any job left for apply_pending_jobs, plus the search that finds it.
    """
    delays = []
    staff = people["staff"]
    real_catch_up = search_service.catch_up
    spent: list[float] = []

    def timed_catch_up(**kwargs):
        t0 = perf_counter()
        real_catch_up(**kwargs)
        spent.append((perf_counter() - t0) * 1000)

    search_service.catch_up = timed_catch_up
    try:
        for i in range(PUBLISHES):
            code = f"QT-PUB{i:02d}"
            world.register(people, code, f"Quy trình đo độ trễ tìm kiếm số {i}")
            spent.clear()
            world.publish(people, code, world.docx_for(code, 1), "")
            t0 = perf_counter()
            search_service.apply_pending_jobs()
            while not search_service.search(staff, code).results:
                time.sleep(0.005)
            delays.append(sum(spent) + (perf_counter() - t0) * 1000)
    finally:
        search_service.catch_up = real_catch_up
    return delays


class _Fts:
    """SQLite FTS5 over the same corpus, engine only."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE VIRTUAL TABLE fts USING fts5(code, title, meta, body, "
                        "tokenize = 'unicode61 remove_diacritics 2')")
        self.seconds, self.count = 0.0, 0

    def add(self, batch) -> None:
        t0 = perf_counter()
        self.db.executemany("INSERT INTO fts(rowid, code, title, meta, body) "
                            "VALUES (?, ?, ?, ?, ?)",
                            [(d.number + 1, _fold_d(d.code), _fold_d(d.title),
                              _fold_d(d.meta), _fold_d(d.texts[-1])) for d in batch])
        self.db.commit()
        self.seconds += perf_counter() - t0
        self.count += len(batch)

    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def time_queries(self, queries: list[str]) -> dict:
        samples = []
        for _ in range(REPEATS):
            for q in queries:
                t0 = perf_counter()
                self.db.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (q,)).fetchone()
                self.db.execute("SELECT rowid, snippet(fts, 3, '[', ']', '…', 24) FROM fts "
                                "WHERE fts MATCH ? ORDER BY rank LIMIT 20", (q,)).fetchall()
                samples.append((perf_counter() - t0) * 1000)
        return summary(samples)

    def close(self) -> None:
        self.db.close()


def _fold_d(text: str) -> str:
    # unicode61 drops diacritics but đ/Đ are letters of their own: fold them by hand.
    return text.replace("đ", "d").replace("Đ", "D")


def main(argv: list[str] | None = None) -> int:
    """Run the search bench; return 0 when every figure was measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer documents")
    parser.add_argument("--backend", choices=["whoosh", "tantivy", "both"], default="both")
    args = parser.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("DOCCTL_")]:
        del os.environ[name]   # the bench builds its own world
    started = perf_counter()
    printer = Printer()
    tmp = Path(tempfile.mkdtemp(prefix="docctl-search-bench-"))
    print("Search bench (latencies through docctl.services.search.search in an app context; "
          "HTTP figures come with the search API)")
    try:
        for name in (["whoosh", "tantivy"] if args.backend == "both" else [args.backend]):
            docs = QUICK_DOCS[name] if args.quick else TARGETS[name]["docs"]
            run_backend(name, docs, printer, tmp)
    except Exception:
        traceback.print_exc()
        print("\nsearch bench failed: figures above were measured, the rest were not.",
              file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    missed = [r for r in printer.rows if not r["ok"]]
    print(f"\n{len(printer.rows) - len(missed)} of {len(printer.rows)} figures met their "
          f"targets; search bench took {perf_counter() - started:.0f} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"quick": args.quick, "figures": printer.rows}, indent=1,
                              ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
