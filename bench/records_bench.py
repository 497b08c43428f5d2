"""Issue 12: file 10,000 records (small PDFs) into a store holding 2,000 documents.

`.venv/bin/python bench/records_bench.py` (also in `make bench`; BENCH_RECORDS=n files fewer).
On the world of bench/history_world.py (2,000 documents, ~10,000 commits), 20 procedures in
force declare a record type each (the bench's setup, written to the tables directly); staff of
the keeping department then file BENCH_RECORDS small PDFs one after another through
`records.file` (upload checks, sealing, intent, one write-once commit, database), each timed
end to end on a fresh session as a request would. Targets: filing p95 ≤ 100 ms; records search
p95 ≤ 50 ms (Whoosh) at that size, after the scheduler has indexed them; disposition of 1,000
records ≤ 30 s (one signed list: one commit, 1,000 keys destroyed, index purged); store growth
per record reported. No timing is asserted; exits 0 when every figure was measured.
"""

import os
import subprocess
import sys
import tempfile
import traceback
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _name in [n for n in os.environ if n.startswith("DOCCTL_")]:
    del os.environ[_name]   # the bench builds its own world

from bench import gitfill, history_world, world  # noqa: E402
from bench.profiling import Stopwatch  # noqa: E402
from bench.report import Report, ms_extra, summary  # noqa: E402
from docctl.extensions import db  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS", "10000"))
FILING_TARGET_MS = 100
SEARCH_TARGET_MS = 50
DISPOSE_TARGET_S = 30
DISPOSE_COUNT = 1000
TYPES = 20
QUERIES = ["bien nhan", "biên nhận hồ sơ", "khai sinh", "đăng ký kinh doanh", "HS-2016",
           "phieu kiem soat", "quá trình giải quyết", "0042", "tiep nhan ho so cap phep",
           "giấy chứng nhận"]
WORDS = ["khai sinh", "đăng ký kinh doanh", "cấp phép xây dựng", "chứng thực bản sao",
         "đất đai", "hộ tịch", "giấy chứng nhận", "tiếp nhận hồ sơ"]


def pdf(n: int) -> bytes:
    """Return a small real PDF with a line of its own (ASCII: the bench's PDF writer)."""
    from tests.fixtures.formats import text_pdf
    topic = WORDS[n % len(WORDS)]
    return text_pdf([f"Bien nhan ho so so {n:05d}", f"Phieu kiem soat qua trinh {n}",
                     analysis_ascii(topic)])


def analysis_ascii(text: str) -> str:
    from docctl.domain.textfold import fold
    return fold(text)


def declare_types(people) -> list[str]:
    """Make TYPES forms in force record types of their procedure in force (keeper VP)."""
    from sqlalchemy import select

    from docctl.models import Document, Revision
    from docctl.models_records import RecordType

    pairs = []
    forms = db.session.scalars(select(Document).where(
        Document.doc_type == "form", Document.status == "effective",
        Document.parent_id.is_not(None)).order_by(Document.id)).all()
    for form in forms:
        parent = db.session.get(Document, form.parent_id)
        if parent.status != "effective":
            continue
        proc_rev = db.session.scalar(select(Revision).where(
            Revision.document_id == parent.id, Revision.status == "effective"))
        form_rev = db.session.scalar(select(Revision).where(
            Revision.document_id == form.id, Revision.status == "effective"))
        if proc_rev is None or form_rev is None or \
                max(proc_rev.effective_date, form_rev.effective_date) > date(2026, 1, 1):
            continue
        db.session.add(RecordType(revision_id=proc_rev.id, form_id=form.id,
                                  form_revision=form_rev.number, keeper_id=1,
                                  location="Tủ hồ sơ Văn phòng", retention="05 năm",
                                  retention_years=5, retention_from="record_date"))
        pairs.append(form.code)
        if len(pairs) == TYPES:
            break
    db.session.commit()
    return pairs


FILING_PARTS = [("docctl.services.record_files", "read", "upload checks"),
                ("docctl.services.record_types", "for_form", "record type"),
                ("docctl.services.reconcile", "ensure_in_step", "store in step"),
                ("docctl.store.sealing", "seal", "sealing"),
                ("docctl.services.publishing", "_write", "git commit"),
                ("docctl.services.publishing", "_finish_after_commit", "database apply")]


def moving_clock(start: datetime):
    """Return a clock that starts at `start` and runs as real time does (intents order by it)."""
    origin = datetime.now(UTC)
    return lambda: start + (datetime.now(UTC) - origin)


def store_bytes(path: str) -> int:
    """Return the size of the store's .git folder, packed as git keeps it."""
    out = gitfill.git(Path(path), "count-objects", "-v")
    facts = dict(line.split(": ") for line in out.strip().splitlines())
    return (int(facts["size"]) + int(facts["size-pack"])) * 1024


def main() -> int:
    started = perf_counter()
    report = Report()
    print(f"docctl records bench (issue 12): {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}; load average " + ", ".join(
              f"{x:.1f}" for x in os.getloadavg()) + " (other work skews the figures)")
    tmp = Path(tempfile.mkdtemp(prefix="docctl-records-bench-"))
    try:
        cached, counts, built = history_world.history_world()
        report.context(f"world: {counts['documents']:,} documents, {counts['commits']:,} "
                       "commits; " + (f"built in {built:.0f} s" if built
                                      else f"from the cache {cached.parent}"))
        data = history_world.copy_of(cached, tmp)
        app = world.build_app(data)
        app.config["DOCCTL_CLOCK"] = moving_clock(datetime(2026, 12, 7, 3, 0, tzinfo=UTC))
        _run(report, app)
        app.extensions["docctl.store"].close()
        missed = [f for f in report.figures if not f["ok"]]
        print(f"\n{len(report.figures) - len(missed)} of {len(report.figures)} targets met; "
              f"bench took {perf_counter() - started:.0f} s")
        return 0
    except Exception:
        traceback.print_exc()
        print("\nbench failed: figures above were measured, the rest were not.",
              file=sys.stderr)
        return 1
    finally:
        subprocess.run(["rm", "-rf", "--", str(tmp)], check=False)


def _run(report: Report, app) -> None:
    from docctl.services import records, records_search, users

    store = app.extensions["docctl.store"]
    with app.app_context():
        from docctl.models import User
        people = {u.username: u for u in db.session.query(User)}
        forms = declare_types(people)
        db.session.remove()
    size_before = store_bytes(str(store.path))
    report.heading(f"File {RECORDS:,} records (small PDFs) one by one "
                   "(records.file, service layer, SQLite)")
    filing_ms = []
    pdf_bytes = 0
    meter, watch = world.GitMeter(store), Stopwatch(FILING_PARTS)
    parts: dict[str, list[float]] = {}
    per_command: dict[str, list[float]] = {}
    for n in range(RECORDS):
        data = pdf(n)
        pdf_bytes += len(data)
        with app.app_context():
            staff = users.find_user("staff")
            meter.reset()
            watch.reset()
            t0 = perf_counter()
            records.file(staff, filename=f"bien-nhan-{n:05d}.pdf", data=data,
                         record_date=date(2026, 1 + n % 11, 1 + n % 28),
                         form=forms[n % len(forms)], reference=f"{n:05d}/TN")
            filing_ms.append((perf_counter() - t0) * 1000)
            db.session.remove()
        for label, ms in watch.ms.items():
            parts.setdefault(label, []).append(ms)
        for command, ms in meter.timings:
            per_command.setdefault(command, []).append(ms)
        if (n + 1) % 1000 == 0:
            recent = summary(filing_ms[-1000:])
            report.context(f"{n + 1:,} filed; last 1,000: p50 {recent['p50']:.0f} ms, p95 "
                           f"{recent['p95']:.0f} ms")
    stats = summary(filing_ms)
    report.figure(f"filing one record (of {RECORDS:,})", "p95", stats["p95"], "ms",
                  FILING_TARGET_MS, ms_extra(stats) + "; issue 12 names no baseline")
    report.context("of a filing, p50 ms per part: " + ", ".join(
        f"{label} {summary(values)['p50']:.0f}" for label, values in parts.items()))
    report.context("git per command (p50 ms): " + ", ".join(
        f"{command} {summary(values)['p50']:.0f}" for command, values in per_command.items()))
    last = summary(filing_ms[-1000:])
    report.context(f"the last 1,000 filings (store at its largest): p95 {last['p95']:.0f} ms")
    loose = store_bytes(str(store.path))
    with app.app_context():
        store.maintain()   # what the scheduler does: pack new objects (geometric repack)
    packed = store_bytes(str(store.path))
    per_packed = (packed - size_before) / RECORDS / 1024
    per_loose = (loose - size_before) / RECORDS / 1024
    report.context(f"store growth per record: {per_packed:.1f} KiB once packed by the "
                   f"scheduler's upkeep ({per_loose:.1f} KiB as loose objects before); the PDFs "
                   f"average "
                   f"{pdf_bytes / RECORDS / 1024:.1f} KiB")
    with app.app_context():
        t0 = perf_counter()
        indexed = records_search.apply_jobs()
        report.context(f"records index built by the scheduler's job pass: {indexed:,} jobs in "
                       f"{perf_counter() - t0:.0f} s")
        auditor = users.find_user("auditor")
        search_ms, hits = [], []
        for i in range(200):
            q = QUERIES[i % len(QUERIES)]
            t0 = perf_counter()
            rows, total = records_search.search(auditor, q)
            search_ms.append((perf_counter() - t0) * 1000)
            hits.append(total)
        db.session.remove()
    stats = summary(search_ms)
    report.figure(f"records search at {RECORDS:,} records", "p95", stats["p95"], "ms",
                  SEARCH_TARGET_MS, ms_extra(stats) + f"; hits per query {min(hits)}–"
                                                      f"{max(hits)}")
    _dispose(report, app, store)


def _dispose(report: Report, app, store) -> None:
    from sqlalchemy import select

    from docctl.models_records import Record
    from docctl.services import dispositions, records_search, users

    app.config["DOCCTL_CLOCK"] = moving_clock(datetime(2032, 6, 1, 3, 0, tzinfo=UTC))
    with app.app_context():
        secretary = users.find_user("secretary")
        due = db.session.scalars(select(Record.id).where(Record.status == "filed",
                                                         Record.retain_until < date(2032, 6, 1))
                                 .order_by(Record.id).limit(DISPOSE_COUNT)).all()
        listed = dispositions.propose(secretary, list(due), "Hết thời hạn lưu trữ 05 năm")
        listed_id = listed.id
        db.session.remove()
    before = int(gitfill.git(Path(store.path), "rev-list", "--count", "HEAD").strip())
    with app.app_context():
        approver = users.find_user("approver")
        t0 = perf_counter()
        done = dispositions.approve(approver, listed_id, world.PASSWORD)
        signed = perf_counter() - t0
        status = done.status
        t0 = perf_counter()
        records_search.apply_jobs()
        purged = perf_counter() - t0
        db.session.remove()
    after = int(gitfill.git(Path(store.path), "rev-list", "--count", "HEAD").strip())
    if status != "done" or after != before + 1:
        raise RuntimeError(f"disposition {status}, {after - before} commits")
    report.figure(f"disposition of {len(due):,} records (sign the list)", "time",
                  signed + purged, "s", DISPOSE_TARGET_S,
                  f"signing {signed:.1f} s (password, one commit, keys destroyed, scrub) + "
                  f"index purge {purged:.1f} s; 1 commit")


if __name__ == "__main__":
    sys.exit(main())
