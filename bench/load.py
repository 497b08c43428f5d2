"""HTTP load on the real server: one client after another, or many at once."""

import json
import resource
import threading
from dataclasses import dataclass, field
from time import perf_counter

from bench.report import summary
from bench.server import request


@dataclass
class LoadResult:
    """What a run of requests measured: latencies, completed requests, failures."""

    seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        """Return successful requests per second."""
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def client_cpu_share(self) -> float:
        """Return the CPU the clients used, in cores (it is taken from the server's two)."""
        return self.client_cpu_seconds / self.seconds if self.seconds else 0.0

    def stats(self) -> dict:
        return summary(self.latencies_ms)

    def failure_text(self) -> str:
        return ", ".join(f"{n}× {what}" for what, n in sorted(self.failures.items())) or "none"


def get(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    """Send one GET on a new connection; return status and body."""
    status, _headers, body = request(port, "GET", path, headers=headers, timeout=60)
    return status, body


def page_ok(status: int, body: bytes) -> str | None:
    """Return why a page answer is not a good one, or None."""
    return None if status == 200 else f"HTTP {status}"


def _check(status: int, body: bytes) -> str | None:
    """Return why a search answer is not a good one, or None."""
    if status != 200:
        return f"HTTP {status}"
    try:
        json.loads(body)["total"]
    except (ValueError, KeyError, TypeError):
        return "not a search answer"
    return None


def sequential(port: int, paths: list[str], headers: dict, *, repeats: int = 2,
               warm: int = 5) -> LoadResult:
    """Send the requests one at a time (after a few warm-up ones); time each."""
    for path in paths[:warm]:
        get(port, path, headers)
    result = LoadResult()
    started = perf_counter()
    for _ in range(repeats):
        for path in paths:
            t0 = perf_counter()
            status, body = get(port, path, headers)
            elapsed = (perf_counter() - t0) * 1000
            problem = _check(status, body)
            if problem:
                result.failures[problem] = result.failures.get(problem, 0) + 1
            else:
                result.latencies_ms.append(elapsed)
    result.seconds = perf_counter() - started
    return result


def concurrent(port: int, paths: list[str], headers: dict, *, clients: int = 50,
               seconds: float = 10.0, check=_check, total: int | None = None) -> LoadResult:
    """Keep `clients` requests in flight for `seconds`; count the answers that came back.

    With `total`, stop earlier once that many requests have been sent.
    """
    sent = [0]
    result = LoadResult()
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(offset: int) -> None:
        mine: list[float] = []
        failures: dict[str, int] = {}
        i = offset
        start_gate.wait()
        while perf_counter() < deadline[0]:
            if total is not None:
                with lock:
                    if sent[0] >= total:
                        break
                    sent[0] += 1
            path = paths[i % len(paths)]
            i += clients
            t0 = perf_counter()
            try:
                status, body = get(port, path, headers)
                problem = check(status, body)
            except OSError as exc:
                problem = type(exc).__name__
            if problem:
                failures[problem] = failures.get(problem, 0) + 1
            else:
                mine.append((perf_counter() - t0) * 1000)
        with lock:
            result.latencies_ms.extend(mine)
            for what, n in failures.items():
                result.failures[what] = result.failures.get(what, 0) + n

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = _cpu_seconds()
    started = perf_counter()
    deadline[0] = started + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    # Requests in flight at the deadline finish after it: count the time they took too.
    result.seconds = perf_counter() - started
    result.client_cpu_seconds = _cpu_seconds() - cpu_before
    return result


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
