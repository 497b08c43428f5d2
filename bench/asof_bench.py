"""Issue 11: "as of D" for the whole register, on 2,000 documents whose history is ~10,000 commits.

`.venv/bin/python bench/asof_bench.py` (also in `make bench`). The world (bench/history_world.py)
is built once into a cache folder (BENCH_CACHE, else the temp folder) and copied for each run.
For several days D it times, on SQLite:
  - the whole register as of D through the service (`asof.register_as_of`, every page of 500);
  - the whole register as of D as the API gives it (`GET /api/v1/documents?as_of=D`, every page
    of 500, bearer token, in-process client): what an integration reading "the register on D"
    waits for, forms in force with each procedure included;
  - the register page with ?as_of=D (first page of 50, as a signed-in auditor sees it).
Exits 0 when every figure was measured, even if a target is missed; no timing is asserted.
"""

import os
import subprocess
import sys
import tempfile
import traceback
from datetime import date
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _name in [n for n in os.environ if n.startswith("DOCCTL_")]:
    del os.environ[_name]   # the bench builds its own world

from bench import history_world, world  # noqa: E402
from bench.profiling import profile  # noqa: E402
from bench.report import Report, ms_extra, summary  # noqa: E402
from docctl.extensions import db  # noqa: E402
from docctl.services import asof, users  # noqa: E402

TARGET_MS = 100
DAYS = [date(2017, 3, 1), date(2019, 7, 15), date(2022, 1, 10), date(2024, 9, 30),
        date(2026, 12, 7), date(2027, 3, 1)]
REPEATS = 5
PAGE = 500          # the API's largest page (and the service's MAX_PER_PAGE)


def whole_register(user, day: date) -> list:
    """Return every (document, revision) in force on day, page after page, as a client would."""
    rows, total = asof.register_as_of(user, day, page=1, per_page=PAGE)
    page = 1
    while len(rows) < total:
        page += 1
        more, _total = asof.register_as_of(user, day, page=page, per_page=PAGE)
        if not more:
            break
        rows += more
    return rows


def _fresh():
    """Start a new session, as a request does (nothing in the identity map); return the user."""
    db.session.remove()
    return users.find_user("auditor")


def _service(report: Report, app) -> None:
    report.heading("Whole register as of D through the service (register_as_of, pages of 500)")
    with app.app_context():
        auditor = users.find_user("auditor")
        sizes = {}
        for day in DAYS:
            sizes[day] = len(whole_register(auditor, day))   # warm-up, and what each day holds
        report.context("documents in force: " + ", ".join(
            f"{day:%d/%m/%Y} {n:,}" for day, n in sizes.items()))
        timings = []
        for _ in range(REPEATS):
            for day in DAYS:
                auditor = _fresh()
                t0 = perf_counter()
                whole_register(auditor, day)
                timings.append((perf_counter() - t0) * 1000)
        stats = summary(timings)
        report.context(f"whole register as ORM objects, pages of 500 (register_as_of): p95 "
                       f"{stats['p95']:.1f} ms, p50 {stats['p50']:.1f} ms")
        snap = []
        for _ in range(REPEATS):
            for day in DAYS:
                auditor = _fresh()
                t0 = perf_counter()
                rows = asof.snapshot(auditor, day)
                snap.append((perf_counter() - t0) * 1000)
                assert len(rows) == sizes[day], (day, len(rows), sizes[day])
        stats = summary(snap)
        report.figure("as of D, whole register (asof.snapshot)", "p95", stats["p95"], "ms",
                      TARGET_MS, ms_extra(stats) + f"; {len(DAYS)} days × {REPEATS}; one "
                      "statement, plain rows, as the register export reads it")
        first = []
        for _ in range(REPEATS):
            for day in DAYS:
                auditor = _fresh()
                t0 = perf_counter()
                asof.register_as_of(auditor, day)
                first.append((perf_counter() - t0) * 1000)
        report.context(f"first page of 50 + total (what the page asks for): p95 "
                       f"{summary(first)['p95']:.1f} ms, p50 {summary(first)['p50']:.1f} ms")
        auditor = _fresh()
        sql = world.SqlMeter()
        whole_register(auditor, DAYS[3])
        report.context(f"{sql.count} SQL statements for one whole register "
                       f"({sizes[DAYS[3]]:,} rows)")
        db.session.remove()
    return timings


def _api(report: Report, app, token: str) -> None:
    report.heading("Whole register as of D as the API gives it (GET /api/v1/documents?as_of=D, "
                   "pages of 500, with forms)")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def fetch(day: date) -> int:
        count, page, total = 0, 1, None
        while total is None or count < total:
            response = client.get(f"/api/v1/documents?as_of={day.isoformat()}&per_page={PAGE}"
                                  f"&page={page}", headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"as_of API gave {response.status_code}: "
                                   f"{response.get_data(as_text=True)[:200]}")
            body = response.get_json()
            total = body["total"]
            if not body["documents"]:
                break
            count += len(body["documents"])
            page += 1
        return count

    t0 = perf_counter()
    fetch(DAYS[0])
    # Seconds per call: one sample per day is enough to tell how far off it is.
    rounds = 1 if perf_counter() - t0 > 0.5 else max(2, REPEATS // 2)
    timings = []
    for _ in range(rounds):
        for day in DAYS:
            t0 = perf_counter()
            fetch(day)
            timings.append((perf_counter() - t0) * 1000)
    stats = summary(timings)
    report.figure("as of D, whole register (GET /api/v1)", "p95", stats["p95"], "ms", TARGET_MS,
                  ms_extra(stats))
    with app.app_context():
        sql = world.SqlMeter()
        fetch(DAYS[3])
        report.context(f"{sql.count} SQL statements for one whole register over the API "
                       "(the service's query, then per procedure or instruction its forms "
                       "in force that day)")
    return fetch


def _page(report: Report, app) -> None:
    from tests.helpers import csrf_token

    client = app.test_client()
    response = client.post("/login", data={"username": "auditor", "password": world.PASSWORD,
                                           "csrf_token": csrf_token(client)})
    if response.status_code not in (302, 303):
        raise RuntimeError(f"sign-in gave {response.status_code}")
    timings = []
    for i in range(len(DAYS) * REPEATS + 2):
        day = DAYS[i % len(DAYS)]
        t0 = perf_counter()
        response = client.get(f"/documents?as_of={day.isoformat()}")
        elapsed = (perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"register page as of {day} gave {response.status_code}")
        if i >= 2:
            timings.append(elapsed)
    stats = summary(timings)
    report.context(f"register page ?as_of=D, first page of 50 (HTML, in-process): p95 "
                   f"{stats['p95']:.1f} ms, p50 {stats['p50']:.1f} ms (no target of its own)")


def main() -> int:
    started = perf_counter()
    report = Report()
    tmp = Path(tempfile.mkdtemp(prefix="docctl-asof-bench-"))
    try:
        cached, counts, built = history_world.history_world()
        print(f"docctl as-of bench (issue 11): {os.cpu_count()} CPUs, Python "
              f"{sys.version.split()[0]}; world {cached}" + "; load average " + ", ".join(
              f"{x:.1f}" for x in os.getloadavg()) + " (other work skews the figures)")
        report.context(f"world: {counts['documents']:,} documents, {counts['revisions']:,} "
                       f"revisions, {counts['commits']:,} commits on main, "
                       f"{counts['withdrawn']} withdrawn, {counts['future']} with a revision "
                       f"approved for 2027; " + (f"built in {built:.0f} s" if built
                                                  else "from the cache"))
        data = history_world.copy_of(cached, tmp)
        app = world.build_app(data)
        with app.app_context():
            token = users.issue_token("auditor", world.PASSWORD)
            db.session.remove()
        _service(report, app)
        fetch = _api(report, app, token)
        _page(report, app)
        if os.environ.get("BENCH_PROFILE") == "1":
            with app.app_context():
                auditor = users.find_user("auditor")
                profile(report, "whole register (service)",
                        lambda: whole_register(auditor, DAYS[3]), only="")
        if os.environ.get("BENCH_PROFILE") == "1":
            profile(report, "whole register (API)", lambda: fetch(DAYS[3]), limit=20)
        report.context("reference: issue 11 names no baseline for as-of; bench/copies_bench.py "
                       "times its first page (target ≤ 200 ms) on a DB-only world")
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


if __name__ == "__main__":
    sys.exit(main())
