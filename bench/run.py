"""`make bench`: measure docctl's performance targets on this machine, against real parts.

Real parts: a temporary data directory with SQLite, a real git store pre-filled with 10,000
commits, the service layer, the Flask app, and the real server (`docctl serve`: gunicorn with
2 workers) over HTTP. Exits 0 when every figure was measured, even if a target is missed.
"""

import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The bench builds its own world: settings from the caller's environment must not leak in.
for _name in [n for n in os.environ if n.startswith("DOCCTL_")]:
    del os.environ[_name]

from bench import gitfill, office_bench, world  # noqa: E402
from bench.report import Report, ms_extra, summary  # noqa: E402
from bench.server import Browser, Server  # noqa: E402

FILL_COMMITS = 10_000
FILL_DOCUMENTS = 2_000
WARMUP_PUBLISHES = 3
PUBLISHES = 30
PUBLISH_DOCUMENTS = 10
HISTORY_REVISIONS = 100
HISTORY_REQUESTS = 50
REGISTER_DOCUMENTS = 2_000
REGISTER_REQUESTS = 50
HISTORY_CODE = "QT-HIST"


def main() -> int:
    started = perf_counter()
    report = Report()
    keep = os.environ.get("BENCH_KEEP") == "1"
    tmp = Path(tempfile.mkdtemp(prefix="docctl-bench-"))
    data_dir = tmp / "data"
    try:
        _machine(data_dir)
        app = world.build_app(data_dir)
        store = app.extensions["docctl.store"]
        with app.app_context():
            people = world.create_schema_and_people()
            _build_index(report, app)
            _fill_store(report, store)
            _publishes(report, app, store, people)
            _history_build(report, people)
        _history_read(report, app)
        with app.app_context():
            people = {u: world.db.session.scalar(world.db.select(world.User).where(
                world.User.username == u)) for u, _role in world.PEOPLE}
            t0 = perf_counter()
            world.insert_register(people, REGISTER_DOCUMENTS, store.head())
            report.context(f"{REGISTER_DOCUMENTS:,} effective documents inserted through "
                           f"SQLAlchemy in {perf_counter() - t0:.1f} s")
            from docctl.services import indexing, users
            t0 = perf_counter()
            indexed = indexing.reindex()   # as `docctl reindex` would: the server searches them
            report.context(f"search index rebuilt with {indexed:,} revisions in "
                           f"{perf_counter() - t0:.1f} s")
            tokens = {u: users.issue_token(u, world.PASSWORD)
                      for u in ("secretary", "reviewer", "approver", "staff")}
            world.db.session.remove()
            world.db.engine.dispose()
        store.close()
        _over_http(report, data_dir, tmp / "server.log", tokens)
        _references(report)
        _save(report, started)
        missed = [f for f in report.figures if not f["ok"]]
        print(f"\n{len(report.figures) - len(missed)} of {len(report.figures)} targets met; "
              f"bench took {perf_counter() - started:.0f} s"
              + (" (data kept in " + str(tmp) + ")" if keep else ""))
        return 0
    except Exception:
        traceback.print_exc()
        print("\nbench failed: figures above were measured, the rest were not.", file=sys.stderr)
        return 1
    finally:
        if not keep:
            subprocess.run(["rm", "-rf", "--", str(tmp)], check=False)


def _machine(data_dir: Path) -> None:
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True,
                                 check=False).stdout.strip()
    print(f"docctl bench on {platform.node()}: {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {git_version}, SQLite {sqlite3.sqlite_version}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at start: {load} (other work on this machine skews the figures)")
    print(f"data: {data_dir} (SQLite database, git store, index); every figure below is "
          "measured in this run unless marked as a reference")


def _build_index(report: Report, app) -> None:
    """Build the search index as `make run` does (`docctl init` catches the index up)."""
    from docctl.services import indexing

    indexing.catch_up()
    index_dir = Path(app.config["INDEX_DIR"])
    if not index_dir.is_dir() or not any(index_dir.iterdir()):
        raise RuntimeError(f"no search index was built in {index_dir}")
    report.context(f"search index ({app.config['SEARCH_BACKEND']}) built in {index_dir}, as "
                   "`docctl init` builds it: every publish below updates it")


def _fill_store(report: Report, store) -> None:
    report.heading("Git store")
    t0 = perf_counter()
    count = gitfill.fill(store.path, commits=FILL_COMMITS, documents=FILL_DOCUMENTS)
    report.context(f"pre-filled with git fast-import: {count:,} commits and {FILL_COMMITS:,} "
                   f"tags over {FILL_DOCUMENTS:,} documents in {perf_counter() - t0:.1f} s")


def _publishes(report: Report, app, store, people) -> None:
    report.heading("Publishing through the service layer (upload → submit → review → approve "
                   "→ effective; git commit and tag)")
    codes = [f"QT-B{i:02d}" for i in range(1, PUBLISH_DOCUMENTS + 1)]
    for code in codes + ["QT-WARM"]:
        world.register(people, code, f"Quy trình đo hiệu năng {code}")
    for i in range(WARMUP_PUBLISHES):
        _, _, revision = world.publish(people, "QT-WARM", world.docx_for("QT-WARM", i + 1),
                                       reason="Khởi động" if i else "")
        world.check_published(store, revision)
    end_to_end, approve_only, git_ms, git_calls, commands = [], [], [], [], []
    meter = world.GitMeter(store)
    for i in range(PUBLISHES):
        code = codes[i % len(codes)]
        number = i // len(codes) + 1
        data = world.docx_for(code, number)
        meter.reset()
        total_ms, approve_ms, revision = world.publish(
            people, code, data, reason="" if number == 1 else f"Sửa đổi lần {number}")
        git_ms.append(meter.ms)
        git_calls.append(meter.calls)
        commands = list(meter.commands)
        world.check_published(store, revision)
        end_to_end.append(total_ms)
        approve_only.append(approve_ms)
    commits = gitfill.git(store.path, "rev-list", "--count", "refs/heads/main").strip()
    e2e, appr = summary(end_to_end), summary(approve_only)
    report.figure("publish end-to-end (10k commits)", "p95", e2e["p95"], "ms", 200,
                  ms_extra(e2e))
    report.figure("approve alone: e-signature, commit, tag (10k)", "p95", appr["p95"], "ms", 50,
                  ms_extra(appr) + "; index in use; issue #9 baseline p95 307–615 ms")
    from docctl.services import users
    checks = []
    for _ in range(10):
        t0 = perf_counter()
        users.verify_password(people["approver"], world.PASSWORD)
        checks.append((perf_counter() - t0) * 1000)
    report.context(f"of approve (p50): the signer's password re-check (argon2id, by design) "
                   f"{summary(checks)['p50']:.1f} ms; git {summary(git_ms)['p50']:.1f} ms in "
                   f"{max(git_calls)} git processes ({' '.join(commands)})")
    report.context(f"store now holds {int(commits):,} commits on main")


def _history_build(report: Report, people) -> None:
    world.register(people, HISTORY_CODE, "Quy trình có 100 lần ban hành")
    t0 = perf_counter()
    for number in range(1, HISTORY_REVISIONS + 1):
        world.publish(people, HISTORY_CODE, world.docx_for(HISTORY_CODE, number),
                      reason="" if number == 1 else f"Sửa đổi lần {number}")
    report.context(f"{HISTORY_CODE}: {HISTORY_REVISIONS} revisions published through the "
                   f"service in {perf_counter() - t0:.1f} s")


def _history_read(report: Report, app) -> None:
    report.heading(f"History of a document with {HISTORY_REVISIONS} revisions")
    from docctl.services import documents, users
    from docctl.web.api import revision_json

    with app.app_context():
        token = users.issue_token("auditor", world.PASSWORD)
        auditor = users.find_user("auditor")
        sql = world.SqlMeter()
        service, queries = [], 0
        for i in range(HISTORY_REQUESTS + 5):
            world.db.session.expire_all()   # read from the database, not the identity map
            t0 = perf_counter()
            rows = documents.visible_revisions(auditor, documents.get_document(auditor,
                                                                               HISTORY_CODE))
            json.dumps({"revisions": [revision_json(r) for r in rows]})
            if i >= 5:
                service.append((perf_counter() - t0) * 1000)
            queries, sql.count = sql.count, 0
        world.db.session.remove()
    if len(rows) != HISTORY_REVISIONS:
        raise RuntimeError(f"expected {HISTORY_REVISIONS} revisions, got {len(rows)}")
    client = app.test_client()
    path = f"/api/v1/documents/{HISTORY_CODE}/revisions"
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    for i in range(HISTORY_REQUESTS + 5):
        t0 = perf_counter()
        response = client.get(path, headers=headers)
        elapsed = (perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} gave {response.status_code}")
        if i >= 5:
            timings.append(elapsed)
    count = len(response.get_json()["revisions"])
    if count != HISTORY_REVISIONS:
        raise RuntimeError(f"GET {path} listed {count} revisions")
    stats = summary(timings)
    report.figure("history, 100 revisions (GET /api/v1, app)", "p95", stats["p95"], "ms", 20,
                  ms_extra(stats))
    report.context(f"service call + JSON alone (visible_revisions, revision_json) p95 "
                   f"{summary(service)['p95']:.1f} ms with {queries} SQL statements per call; "
                   "the figure above adds routing, token check and response (Flask test "
                   "client, no network)")
    app.config["BENCH_TOKEN"] = token


def _over_http(report: Report, data_dir: Path, log_path: Path, tokens: dict) -> None:
    report.heading(f"Real server: docctl serve (gunicorn, 2 workers) on 127.0.0.1, "
                   f"{REGISTER_DOCUMENTS:,}+ documents")
    with Server(data_dir, log_path) as server:
        fresh, processes = server.rss_mib()
        report.context(f"listening on 127.0.0.1:{server.port}, pids {server.pids()}; "
                       f"{fresh:.0f} MiB at start (the memory floor: master + "
                       f"{processes - 1} workers before any request)")
        staff = Browser(server)
        staff.login("staff", world.PASSWORD)
        timings = []
        for i in range(REGISTER_REQUESTS + 6):
            t0 = perf_counter()
            status, body = staff.request("GET", "/documents")
            elapsed = (perf_counter() - t0) * 1000
            if status != 200 or b"-R0" not in body:
                raise RuntimeError(f"GET /documents gave {status} without the register rows")
            if i >= 6:   # the first requests warm both workers (templates, caches)
                timings.append(elapsed)
        stats = summary(timings)
        report.figure("register page, 2,000 documents (HTTP)", "p95", stats["p95"], "ms", 100,
                      ms_extra(stats))
        report.context(f"register page p50 {stats['p50']:.1f} ms (staff user, first page of "
                       "50 rows, new connection per request)")
        auditor = Browser(server)
        auditor.login("auditor", world.PASSWORD)
        history = []
        for i in range(HISTORY_REQUESTS + 4):
            t0 = perf_counter()
            status, body = auditor.request("GET", f"/api/v1/documents/{HISTORY_CODE}/revisions")
            elapsed = (perf_counter() - t0) * 1000
            if status != 200:
                raise RuntimeError(f"history over HTTP gave {status}")
            if i >= 4:
                history.append(elapsed)
        report.context(f"history of 100 revisions over HTTP (gunicorn) p95 "
                       f"{summary(history)['p95']:.1f} ms, p50 {summary(history)['p50']:.1f} ms")
        time.sleep(0.5)
        rss, processes = server.rss_mib()
        report.figure(f"server memory (master + {processes - 1} workers)", "RSS", rss, "MiB",
                      250, f"{processes} processes, summed VmRSS, after the pages above")
        report.heading("Issue #9: an office's load on the same server (index built)")
        codes = [f"QT-R{i:04d}" for i in range(4, REGISTER_DOCUMENTS, 4)][:200]
        office_bench.page_throughput(report, server, codes)
        office_bench.publish_over_http(report, server, tokens)
        office_bench.searches_then_memory(report, server, tokens["staff"], fresh)


def _references(report: Report) -> None:
    report.heading("reference (measured elsewhere, not in this run)")
    report.context("Mayan EDMS: ~1.8 s per document published; 0.9–1.3 GiB of memory")
    report.context("An Otter Wiki: 117–131 ms p95 per save at 2,000 pages; "
                   "48 ms p95 for a 51-revision history")


def _save(report: Report, started: float) -> None:
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "last.json").write_text(json.dumps(
        {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
         "seconds": round(perf_counter() - started, 1), "figures": report.figures},
        ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
