"""Search bench: Whoosh at 2,000 and tantivy at 20,000 Vietnamese documents, beside SQLite FTS5.

Run `python bench/search_bench.py` (`--quick` for fewer documents, `--backend tantivy` for one).
Each backend's corpus goes through the real indexing path into a database and an index; then
`docctl serve` (gunicorn, 2 workers) serves them and every query latency is measured over HTTP,
`GET /api/v1/search?q=` with a staff member's bearer token, one request at a time; throughput
is measured with 50 clients at once. SQLite FTS5 (unicode61 remove_diacritics 2, đ folded by
hand) indexes the same corpus, engine only, and each of our figures is printed beside it as a
ratio. The service-level latency (no HTTP, no server) is shown beside each figure.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from time import perf_counter
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import load, world  # noqa: E402
from bench.report import summary  # noqa: E402
from bench.search_corpus import Corpus, Fts, fts_query  # noqa: E402
from bench.server import Server  # noqa: E402
from docctl.services import indexing  # noqa: E402

TARGETS = {
    "whoosh": {"docs": 2_000, "p95": 50.0, "phrase": 150.0, "reindex": 200.0, "rps": None},
    "tantivy": {"docs": 20_000, "p95": 20.0, "phrase": 50.0, "reindex": 2_000.0, "rps": 300.0},
}
QUICK_DOCS = {"whoosh": 400, "tantivy": 3_000}
KINDS = ["one-word", "two-word", "phrase", "prefix", "unaccented", "code"]
QUERIES_PER_KIND = 40
REPEATS = 2
PUBLISHES = 5
BATCH = 500
CLIENTS = 50
LOAD_SECONDS = 15.0
OUT = ROOT / "bench" / "out" / "search.json"


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


def run_backend(name: str, docs: int, printer: Printer, tmp: Path, seconds: float) -> None:
    """Build one backend's world, serve it with `docctl serve`, and print its figures."""
    from docctl.services import indexing, users
    from docctl.services import search as search_service

    target = TARGETS[name]
    print(f"\n{name}: {docs:,} documents (~8 KB of Vietnamese text each)", flush=True)
    data_dir = tmp / name
    app = _app(data_dir, name)
    corpus = Corpus(seed=7, documents=docs)
    fts = Fts(tmp / f"{name}-fts5.sqlite")
    queries = {}
    with app.app_context():
        people = world.create_schema_and_people()
        upsert_s, count = _fill(app, corpus, fts, people)
        printer.figure("adapter upsert (bulk, incremental)", count / upsert_s, "docs/s",
                       extra=f"{count:,} revisions in {upsert_s:.1f} s")
        t0 = perf_counter()
        rebuilt = indexing.reindex()
        reindex_s = perf_counter() - t0
        printer.figure("full reindex from the database", rebuilt / reindex_s, "docs/s",
                       target=target["reindex"], floor=True, fts=fts.rate(),
                       extra=f"{rebuilt:,} revisions in {reindex_s:.1f} s")
        staff = _person("staff")
        service = {}
        for kind in KINDS:
            queries[kind] = corpus.queries(kind, QUERIES_PER_KIND)
            service[kind] = _time_service(search_service, staff, queries[kind])
        token = users.issue_token("staff", world.PASSWORD)
        world.db.session.remove()
    headers = {"Authorization": f"Bearer {token}"}
    log_path = tmp / f"{name}-server.log"
    try:
        with Server(data_dir, log_path, env={"DOCCTL_SEARCH_BACKEND": name}) as server:
            print(f"    · docctl serve ({name}) on 127.0.0.1:{server.port}, pids "
                  f"{server.pids()}; GET /api/v1/search as staff", flush=True)
            for kind in KINDS:
                run = load.sequential(server.port, [_path(q) for q in queries[kind]], headers,
                                      repeats=REPEATS, warm=10)
                _require(run, f"{kind} queries")
                ours, theirs = run.stats(), fts.time_queries(
                    [fts_query(kind, q) for q in queries[kind]])
                limit = target["phrase"] if kind == "phrase" else target["p95"]
                printer.figure(f"{kind} query p95 (HTTP)", ours["p95"], "ms", target=limit,
                               fts=theirs["p95"],
                               extra=f"p50 {ours['p50']:.1f} ms, n={ours['n']}; service "
                                     f"p95 {service[kind]['p95']:.1f} ms; FTS5 p50 "
                                     f"{theirs['p50']:.2f} ms")
            mixed = [_path(q) for i in range(QUERIES_PER_KIND) for kind in KINDS
                     for q in queries[kind][i:i + 1]]
            run = load.concurrent(server.port, mixed, headers, clients=CLIENTS,
                                  seconds=seconds)
            _require(run, "concurrent queries")
            stats = run.stats()
            printer.figure(f"throughput, {CLIENTS} clients at once", run.rate, "req/s",
                           target=target["rps"], floor=True,
                           extra=f"{run.done:,} answers in {run.seconds:.1f} s, mixed kinds; "
                                 f"latency p50 {stats['p50']:.0f} / p95 {stats['p95']:.0f} ms;"
                                 f" the clients used {run.client_cpu_share:.2f} of a core; "
                                 f"failures: {run.failure_text()}")
            rss, processes = server.rss_mib()
            printer.figure(f"server memory (master + {processes - 1} workers)", rss, "MiB",
                           extra="after the load")
            with app.app_context():
                delays = _publish_delays(search_service, server.port, headers)
                world.db.session.remove()
            printer.figure("publish-to-searchable delay p50", summary(delays)["p50"], "ms",
                           extra=f"each: {', '.join(f'{d:.0f}' for d in delays)} ms; from the "
                                 "publish's commit until GET /api/v1/search finds it")
    finally:
        with app.app_context():
            world.db.engine.dispose()
        app.extensions["docctl.store"].close()
        fts.close()


def _person(username: str):
    return world.db.session.scalar(select(world.User).where(world.User.username == username))


def _path(q: str) -> str:
    return "/api/v1/search?q=" + quote(q)


def _require(run: load.LoadResult, what: str) -> None:
    """Stop the bench when the server failed requests: its figures would mean nothing."""
    if run.failures:
        raise RuntimeError(f"{what}: the server failed {sum(run.failures.values())} "
                           f"request(s): {run.failure_text()}")


def _app(data_dir: Path, backend: str):
    from config import Config
    from docctl import create_app

    class BenchConfig(Config):
        DATA_DIR = str(data_dir)

    return create_app(BenchConfig, SEARCH_BACKEND=backend)


def _fill(app, corpus: Corpus, fts: "Fts", people) -> tuple[float, int]:
    """Insert the corpus into the database and FTS5; index it by adapter upserts."""
    from docctl.search import make_backend

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
        backend.upsert([indexing.index_doc(r) for r in revisions])
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


def _publish_delays(search_service, port: int, headers: dict) -> list[float]:
    """Publish through the services while the server runs; time until its search finds it.

    The clock starts when the publish's transaction has committed (publishing then applies
    its index jobs, which is the first thing timed) and stops when the server, a separate
    process reading the index, answers a search with the new document.
    """
    people = {u: _person(u) for u, _role in world.PEOPLE}
    real_catch_up = indexing.catch_up
    committed: list[float] = []

    def timed_catch_up(**kwargs):
        committed.append(perf_counter())
        real_catch_up(**kwargs)

    delays = []
    indexing.catch_up = timed_catch_up
    try:
        for i in range(PUBLISHES):
            code = f"QT-PUB{i:02d}"
            world.register(people, code, f"Quy trình đo độ trễ tìm kiếm số {i}")
            committed.clear()
            world.publish(people, code, world.docx_for(code, 1), "")
            indexing.apply_pending_jobs()
            deadline = time.monotonic() + 30
            while True:
                status, body = load.get(port, _path(code), headers)
                if status == 200 and json.loads(body)["total"]:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{code} not found over HTTP 30 s after publishing")
                time.sleep(0.005)
            delays.append((perf_counter() - committed[0]) * 1000)
    finally:
        indexing.catch_up = real_catch_up
    return delays


def main(argv: list[str] | None = None) -> int:
    """Run the search bench; return 0 when every figure was measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer documents")
    parser.add_argument("--backend", choices=["whoosh", "tantivy", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=LOAD_SECONDS,
                        help="how long the concurrent-clients load runs")
    args = parser.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("DOCCTL_")]:
        del os.environ[name]   # the bench builds its own world
    started = perf_counter()
    printer = Printer()
    tmp = Path(tempfile.mkdtemp(prefix="docctl-search-bench-"))
    print(f"Search bench: latencies over HTTP from `docctl serve` (gunicorn, 2 workers), "
          f"{os.cpu_count()} CPU(s); the clients run in this process on the same machine")
    try:
        for name in (["whoosh", "tantivy"] if args.backend == "both" else [args.backend]):
            docs = QUICK_DOCS[name] if args.quick else TARGETS[name]["docs"]
            run_backend(name, docs, printer, tmp, args.seconds)
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
