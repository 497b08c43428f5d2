"""`python bench/copies_bench.py`: controlled copies, the as-of register and redlines, timed.

Everything runs on real parts in a temporary data directory (SQLite, git store, python-docx,
LibreOffice when installed). Exits 0 when every figure was measured, even if a target is missed.
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import traceback
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _name in [n for n in os.environ if n.startswith("DOCCTL_")]:
    del os.environ[_name]   # the bench builds its own world

from sqlalchemy import insert  # noqa: E402

from bench import world  # noqa: E402
from bench.report import Report, ms_extra, summary  # noqa: E402
from docctl import dbengine, office  # noqa: E402
from docctl.domain.diff import changed_words, diff_words, side_by_side  # noqa: E402
from docctl.extensions import db  # noqa: E402
from docctl.models import Document, Revision  # noqa: E402
from docctl.office import pdf  # noqa: E402
from docctl.services import asof, copies  # noqa: E402

WORDS_PER_PAGE = 500          # Times New Roman 13 pt on A4, as agencies print
STAMP_PAGES = (5, 20, 100)
STAMP_RUNS = {5: 30, 20: 30, 100: 10}
ASOF_DOCUMENTS = 2_000
ASOF_REVISIONS = 10_000
ASOF_RUNS = 40
DIFF_PAGES = 50
DIFF_RUNS = 20
_SYLLABLES = ("tài liệu quy trình kiểm soát của và các được theo phòng ban hành sửa đổi lần người "
         "phê duyệt xem xét hồ sơ lưu trữ thời hạn cơ quan đơn vị công chức thực hiện bước nội "
         "dung trách nhiệm lãnh đạo thư ký tiêu chuẩn yêu cầu khách hàng dịch vụ hành chính "
         "công một cửa tiếp nhận trả kết quả giải quyết thủ tục biểu mẫu đánh giá nội bộ khắc "
         "phục phòng ngừa rủi ro cơ hội mục tiêu chất lượng chính sách năng lực đào tạo nhận "
         "thức trao đổi thông tin sản phẩm không phù hợp theo dõi đo lường phân tích cải tiến "
         "Sở Khoa học Công nghệ tỉnh UBND Quyết định số năm 2026 điều khoản")
VOCAB = _SYLLABLES.split()


def _paragraphs(words: int, rng: random.Random) -> list[str]:
    out, total = [], 0
    while total < words:
        size = rng.randint(15, 80)
        out.append(" ".join(rng.choice(VOCAB) for _ in range(size)).capitalize() + ".")
        total += size
    return out


def _document(pages: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    table = [["Bước", "Nội dung", "Trách nhiệm"]] + [
        [str(i), " ".join(rng.choice(VOCAB) for _ in range(12)), "Thư ký ISO"]
        for i in range(1, 4 * pages)]
    return office.build_docx("Quy trình kiểm soát tài liệu", _paragraphs(
        pages * WORDS_PER_PAGE, rng), code="QT-01", header="QT-01 · Lần ban hành: 03",
        table=table)


def _timed(fn, runs: int) -> list[float]:
    fn()   # warm-up: imports, caches
    samples = []
    for _ in range(runs):
        t0 = perf_counter()
        fn()
        samples.append((perf_counter() - t0) * 1000)
    return samples


def _info(kind: str = "controlled") -> office.StampInfo:
    from docctl.office.stamp import HistoryLine, SignatureLine
    at = datetime(2026, 11, 22, 14, 5)
    return office.StampInfo(
        code="QT-01", title="Quy trình kiểm soát tài liệu", revision=3,
        effective_date=date(2026, 12, 1), status="effective" if kind == "controlled"
        else "superseded", downloaded_by="Nguyễn Văn Bench (staff)", downloaded_at=at,
        kind=kind, superseded_by=4 if kind == "obsolete" else None,
        ended_on=date(2027, 1, 1) if kind == "obsolete" else None,
        signatures=tuple(SignatureLine(m, f"Người {m}", at) for m in
                         ("prepared", "reviewed", "approved")),
        history=tuple(HistoryLine(n, date(2024 + n, 1, 1), f"Sửa đổi {n}", "Giám đốc Sở")
                      for n in range(1, 4)))


def bench_stamping(report: Report) -> dict[int, bytes]:
    report.heading("Stamping controlled copies (python-docx + lxml, in process)")
    made = {}
    for pages in STAMP_PAGES:
        data = made[pages] = _document(pages)
        for kind in ("controlled", "obsolete"):
            stats = summary(_timed(lambda d=data, k=kind: office.stamp_copy(d, _info(k)),
                                   STAMP_RUNS[pages]))
            label = f"stamp {pages}-page .docx ({len(data) // 1024} KB), {kind}"
            if pages == 20:
                report.figure(label, "p95", stats["p95"], "ms", 300, ms_extra(stats))
            else:
                report.context(f"{label}: p95 {stats['p95']:.1f} ms ({ms_extra(stats)}; "
                               "no target of its own)")
    return made


def bench_service_copy(report: Report, app, people, twenty: bytes) -> None:
    report.heading("Controlled copy through the service (git read + SHA-256 check + stamp + "
                   "audit entry)")
    with app.app_context():
        world.register(people, "QT-01", "Quy trình kiểm soát tài liệu")
        world.publish(people, "QT-01", twenty, reason="")
        staff = people["staff"]
        stats = summary(_timed(lambda: copies.controlled_copy(staff, "QT-01", 1), 20))
        report.figure("controlled_copy(), 20 pages, .docx", "p95", stats["p95"], "ms", 300,
                      ms_extra(stats))
        if not pdf.available():
            report.context("PDF rendition: LibreOffice not installed here (the service "
                           "answers 503 rendition_unavailable)")
            return
        times = []
        for _ in range(3):
            t0 = perf_counter()
            copies.controlled_copy(staff, "QT-01", 1, fmt="pdf")
            times.append((perf_counter() - t0) * 1000)
            app.config["DOCCTL_CLOCK"] = _later(app)   # next minute: a fresh rendition
        copies.controlled_copy(staff, "QT-01", 1, fmt="pdf")   # made and cached
        t0 = perf_counter()
        copies.controlled_copy(staff, "QT-01", 1, fmt="pdf")   # same minute: from the cache
        hit = (perf_counter() - t0) * 1000
        report.context(f"PDF copy, 20 pages, LibreOffice headless: first {times[0]:,.0f} ms "
                       f"(profile created), then {times[1]:,.0f} / {times[2]:,.0f} ms; "
                       f"cache hit (same downloader, same minute) {hit:.0f} ms; no target "
                       "(DESIGN §7: ~1 s, keep it off the request path)")


def _later(app):
    base = app.config.get("DOCCTL_CLOCK")
    moment = (base() if base else datetime.now(UTC)) + timedelta(minutes=1)
    return lambda: moment


def _fill_asof(people) -> None:
    """Insert 2,000 documents with 10,000 revisions: supersessions, withdrawals, future dates."""
    rng = random.Random(11)
    author, approver = people["secretary"].id, people["approver"].id
    per_doc = ASOF_REVISIONS // ASOF_DOCUMENTS
    docs = []
    for i in range(ASOF_DOCUMENTS):
        doc_type, prefix, noun = world.REGISTER_TYPES[i % len(world.REGISTER_TYPES)]
        withdrawn = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 400)) \
            if i % 10 == 0 else None
        docs.append({"code": f"{prefix}-A{i:04d}", "code_key": f"{prefix}a{i:04d}".lower(),
                     "slug": f"{prefix}-A{i:04d}",
                     "doc_type": doc_type, "title": f"{noun} số {i}",
                     "department_id": 1 + i % len(world.DEPARTMENTS), "parent_id": None,
                     "review_months": 12, "status": "obsolete" if withdrawn else "effective",
                     "external_source": "Chính phủ" if doc_type == "external" else None,
                     "created_by_id": author, "created_at": datetime(2020, 1, 1, tzinfo=UTC),
                     "withdrawn_at": withdrawn, "version": 1})
    db.session.execute(insert(Document), docs)
    ids = dict(db.session.execute(db.select(Document.code, Document.id)).all())
    revs = []
    for doc in docs:
        day = date(2021, 1, 1) + timedelta(days=rng.randint(0, 200))
        future = rng.random() < 0.1 and not doc["withdrawn_at"]
        for n in range(1, per_doc + 1):
            last = n == per_doc
            status = ("approved" if future else "obsolete" if doc["withdrawn_at"]
                      else "effective") if last else "superseded"
            if future and n == per_doc - 1:
                status = "effective"
            at = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            revs.append({"document_id": ids[doc["code"]], "number": n, "status": status,
                         "reason": f"Sửa đổi {n}", "filename": "x.docx", "size": 1,
                         "sha256": "0" * 64, "text": "", "author_id": author,
                         "created_at": at, "approver_id": approver, "review_round": 1,
                         "approved_at": at, "effective_date": day, "effective_at": at,
                         "superseded_by": None if last else n + 1})
            day += timedelta(days=rng.randint(60, 400))
    db.session.execute(insert(Revision), revs)
    db.session.commit()


def bench_asof(report: Report, app, people) -> None:
    report.heading(f"As-of register ({ASOF_DOCUMENTS:,} documents, {ASOF_REVISIONS:,} "
                   "revisions, SQLite; one SQL query + one count)")
    with app.app_context():
        t0 = perf_counter()
        _fill_asof(people)
        report.context(f"filled with SQLAlchemy bulk inserts in {perf_counter() - t0:.1f} s")
        auditor = people["auditor"]
        rng = random.Random(3)
        days = [date(2021, 1, 1) + timedelta(days=rng.randint(0, 2500)) for _ in range(50)]
        it = iter(days * 10)
        rows, total = asof.register_as_of(auditor, date(2024, 6, 1))
        report.context(f"as of 01/06/2024: {total:,} documents in force, first page "
                       f"{len(rows)} rows")
        stats = summary(_timed(lambda: asof.register_as_of(auditor, next(it)), ASOF_RUNS))
        report.figure("as-of register, page 1 of 50 rows + total", "p95", stats["p95"], "ms",
                      200, ms_extra(stats))
        stats = summary(_timed(lambda: asof.register_as_of(auditor, next(it), page=30),
                               ASOF_RUNS))
        report.figure("as-of register, page 30 (deep offset)", "p95", stats["p95"], "ms", 200,
                      ms_extra(stats))
        codes = [f"QT-A{i:04d}" for i in range(0, ASOF_DOCUMENTS, 4)]
        stats = summary(_timed(lambda: asof.revision_as_of(auditor, rng.choice(codes),
                                                           next(it)), ASOF_RUNS))
        report.context(f"revision_as_of one document: p95 {stats['p95']:.1f} ms "
                       f"({ms_extra(stats)})")


def bench_diff(report: Report) -> None:
    report.heading(f"Redline of two {DIFF_PAGES}-page revisions (word level, pure Python)")
    rng = random.Random(5)
    paras = _paragraphs(DIFF_PAGES * WORDS_PER_PAGE, rng)
    edited = list(paras)
    for _ in range(40):   # scattered word edits, as a reviewer's corrections would be
        i = rng.randrange(len(edited))
        words = edited[i].split()
        words[rng.randrange(len(words))] = rng.choice(VOCAB)
        edited[i] = " ".join(words)
    for _ in range(4):
        edited.insert(rng.randrange(len(edited)), "Bổ sung đoạn mới về kiểm soát hồ sơ.")
    for _ in range(3):
        del edited[rng.randrange(len(edited))]
    a, b = "\n".join(paras), "\n".join(edited)
    ops = diff_words(a, b)
    inserted, deleted = changed_words(ops)
    report.context(f"{len(a.split()):,} → {len(b.split()):,} words; +{inserted} / "
                   f"−{deleted} words; {len(ops)} ops after collapsing")
    stats = summary(_timed(lambda: diff_words(a, b), DIFF_RUNS))
    report.figure(f"diff_words, {DIFF_PAGES} pages", "p95", stats["p95"], "ms", 100,
                  ms_extra(stats))
    stats = summary(_timed(lambda: side_by_side(a, b), DIFF_RUNS))
    report.figure(f"side_by_side, {DIFF_PAGES} pages", "p95", stats["p95"], "ms", 100,
                  ms_extra(stats))
    rewritten = "\n".join("Sửa " + p for p in paras[:-1])   # worst case: every paragraph
    stats = summary(_timed(lambda: diff_words(a, rewritten), 5))
    report.context(f"worst case, every paragraph edited and one dropped: p95 "
                   f"{stats['p95']:.0f} ms (no target)")
    report.context("reference, not this run: a Flask + GitPython wiki measured here takes "
                   "470–840 ms p95 for a diff")


def main() -> int:
    report = Report()
    tmp = Path(tempfile.mkdtemp(prefix="docctl-copies-bench-"))
    print(f"docctl copies bench: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"LibreOffice {'found' if pdf.available() else 'not installed'}; data in {tmp}")
    try:
        made = bench_stamping(report)
        app = world.build_app(tmp / "data")
        with app.app_context():
            people = world.create_schema_and_people()
        # Keep the users usable after their session closes.
        with app.app_context():
            people = {u: db.session.merge(p, load=True) for u, p in people.items()}
            # Loading them began a write transaction (SQLite BEGIN IMMEDIATE); end it so the
            # benches' own sessions below are not locked out, keeping the objects loaded.
            dbengine.end_keeping_objects(db.session())
            bench_service_copy(report, app, people, made[20])
            bench_asof(report, app, people)
        bench_diff(report)
        app.extensions["docctl.store"].close()
        missed = [f for f in report.figures if not f["ok"]]
        print(f"\n{len(report.figures) - len(missed)} of {len(report.figures)} targets met")
        return 0
    except Exception:
        traceback.print_exc()
        print("\nbench failed: figures above were measured, the rest were not.",
              file=sys.stderr)
        return 1
    finally:
        subprocess.run(["rm", "-rf", "--", str(tmp)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
