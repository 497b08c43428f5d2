"""Issue #9's figures on the real server: page throughput, publishing over HTTP, memory.

Called by bench/run.py once the world is built (SQLite, a 10,000-commit git store, 2,000
effective documents, the search index built as `make run` builds it).
"""

import json
import os
import random
import time
from datetime import datetime
from time import perf_counter
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bench import load, world
from bench.report import Report, ms_extra, summary
from bench.server import Browser, Server, multipart
from docctl import office

CLIENTS = 50
# Knobs to shorten a run on a busy machine; the defaults are the figures.
PAGE_SECONDS = float(os.environ.get("BENCH_PAGE_SECONDS", "20"))
HTTP_PUBLISHES = int(os.environ.get("BENCH_PUBLISHES", "1000"))
SEARCHES = int(os.environ.get("BENCH_SEARCHES", "10000"))
SEARCHABLE_SAMPLES = 20
PUBLISH_DOCUMENTS = 50
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WORDS = ["quy trinh", "kiem soat", "chat luong", "dich vu cong", "huong dan", "bieu mau",
         "tai lieu", "QT-R0", "so 12", "ve kiem soat chat luong"]


def marker(code: str, number: int) -> str:
    """Return a word only revision `number` of `code` holds."""
    return "benchmoc" + code.lower().replace("-", "") + f"x{number:03d}"


class Api:
    """Bearer-token calls to the server as the bench's people."""

    def __init__(self, server: Server, tokens: dict[str, str]):
        self.server = server
        self.tokens = tokens

    def call(self, user: str, method: str, path: str, payload: dict | None = None, *,
             raw: bytes | None = None, content_type: str = "application/json"):
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        body = json.dumps(payload).encode() if payload is not None else raw
        if body is not None:
            headers["Content-Type"] = content_type
        status, _headers, data = self.server.request(method, path, body=body, headers=headers)
        return status, data

    def ok(self, user: str, method: str, path: str, payload: dict | None = None,
           expect: int = 200, **kwargs) -> dict:
        status, data = self.call(user, method, path, payload, **kwargs)
        if status != expect:
            raise RuntimeError(f"{method} {path} as {user}: HTTP {status} {data[:300]!r}")
        return json.loads(data) if data else {}


def page_throughput(report: Report, server: Server, codes: list[str]) -> None:
    """Measure pages per second with 50 clients (register, document pages, search page)."""
    staff = Browser(server)
    staff.login("staff", world.PASSWORD)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in staff.cookies.items())}
    rng = random.Random(9)
    paths = []
    for i in range(400):
        pick = i % 4
        if pick == 0:
            paths.append("/documents")
        elif pick == 3:
            paths.append("/search?q=" + quote(rng.choice(WORDS)))
        else:
            paths.append(f"/documents/{rng.choice(codes)}")
    load.sequential(server.port, paths[:20], headers, repeats=1, warm=0)   # warm both workers
    run = load.concurrent(server.port, paths, headers, clients=CLIENTS, seconds=PAGE_SECONDS,
                          check=load.page_ok)
    stats = run.stats() if run.done else {"p50": 0, "p95": 0}
    floor = load.concurrent(server.port, ["/static/css/app.css"], {}, clients=CLIENTS,
                            seconds=min(PAGE_SECONDS, 5), check=load.page_ok)
    report.floor_figure(
        f"page throughput, {CLIENTS} clients (index built)", run.rate, "req/s", 300,
        f"{run.done:,} pages in {run.seconds:.1f} s (register, document pages, search page); "
        f"p50 {stats['p50']:.0f} / p95 {stats['p95']:.0f} ms; failures: {run.failure_text()}; "
        f"the clients used {run.client_cpu_share:.2f} of a core; issue #9 baseline ~100 req/s",
        ceiling=floor.rate, ceiling_text="a static file with the same clients")
    if run.failures:
        report.context(f"ERRORS under load: {run.failure_text()} (target: 0)")


def publish_over_http(report: Report, server: Server, tokens: dict[str, str]) -> None:
    """Publish HTTP_PUBLISHES revisions through the server; time approve and searchability."""
    api = Api(server, tokens)
    codes = [f"QT-H{i:02d}" for i in range(1, PUBLISH_DOCUMENTS + 1)]
    for code in codes:
        api.ok("secretary", "POST", "/api/v1/documents", {
            "type": "procedure", "title": f"Quy trình đo qua HTTP {code}", "department": "VP",
            "code": code}, expect=201)
    today = datetime.now(ZONE).date().isoformat()
    approve_ms, searchable_ms, failures = [], [], 0
    rss_start, processes = server.rss_mib()
    started = perf_counter()
    for i in range(HTTP_PUBLISHES):
        code = codes[i % len(codes)]
        number = i // len(codes) + 1
        data = office.build_docx(f"Quy trình {code}", [
            f"Lần ban hành {number} của {code}.", f"Từ khoá riêng {marker(code, number)}."],
            code=code, header=f"{code} · Lần ban hành: {number:02d}")
        raw, kind = multipart({"reason": "" if number == 1 else f"Sửa đổi lần {number}"},
                              f"{code}.docx", data)
        base = f"/api/v1/documents/{code}/revisions"
        number = api.ok("secretary", "POST", base, raw=raw, content_type=kind,
                        expect=201)["revision"]
        api.ok("secretary", "POST", f"{base}/{number}/submit",
               {"reviewers": ["reviewer"], "approver": "approver"})
        api.ok("reviewer", "POST", f"{base}/{number}/review", {"decision": "accept"})
        t0 = perf_counter()
        status, body = api.call("approver", "POST", f"{base}/{number}/approve",
                                {"password": world.PASSWORD, "effective_date": today})
        approve_ms.append((perf_counter() - t0) * 1000)
        if status != 200:
            failures += 1
            continue
        if i < SEARCHABLE_SAMPLES:
            searchable_ms.append(_until_found(api, marker(code, number), t0))
    elapsed = perf_counter() - started
    appr = summary(approve_ms)
    report.figure("approve over HTTP (index in use)", "p95", appr["p95"], "ms", 50,
                  ms_extra(appr) + f"; {failures} approvals failed")
    report.context(f"{HTTP_PUBLISHES:,} publishes over HTTP (upload, submit, review, approve) "
                   f"across {len(codes)} documents in {elapsed:.0f} s; memory "
                   f"{rss_start:.0f} MiB before them ({processes} processes)")
    if searchable_ms:
        found = summary(searchable_ms)
        report.figure("publish-to-searchable, across processes", "p95", found["p95"], "ms",
                      1000, ms_extra(found) + "; from sending the approve until a search "
                      "(another request, any worker) finds the new revision")


def _until_found(api: Api, word: str, t0: float, limit: float = 30.0) -> float:
    """Return ms from t0 until a search finds word (raise after `limit` seconds)."""
    deadline = time.monotonic() + limit
    while True:
        status, data = api.call("staff", "GET", f"/api/v1/search?q={quote(word)}")
        if status == 200 and json.loads(data)["total"]:
            return (perf_counter() - t0) * 1000
        if time.monotonic() > deadline:
            raise RuntimeError(f"{word!r} not searchable {limit:.0f} s after its approval")
        time.sleep(0.01)


def searches_then_memory(report: Report, server: Server, token: str, fresh: float) -> None:
    """Send SEARCHES searches (10 clients), then report the server's memory."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(3)
    paths = ["/api/v1/search?q=" + quote(rng.choice(WORDS)) for _ in range(500)]
    run = load.concurrent(server.port, paths, headers, clients=10, seconds=3600,
                          total=SEARCHES)
    if run.failures:
        report.context(f"ERRORS during the searches: {run.failure_text()}")
    time.sleep(0.5)
    rss, processes = server.rss_mib()
    report.figure(f"memory after {HTTP_PUBLISHES:,} publishes + {run.done:,} searches",
                  "RSS", rss, "MiB", 250,
                  f"master + {processes - 1} workers, summed VmRSS; {fresh:.0f} MiB at start "
                  f"(the floor); issue #9 baseline 339→489 MiB; searches at {run.rate:.0f} "
                  "req/s with 10 clients")
