"""An office on a real server: demo data, `docctl serve` (gunicorn, 2 workers), many clients.

Reused by tests/load and usable from bench/: `Office` starts the server on a data folder
initialised with the demo (SQLite, or PostgreSQL in its own schema), `OfficeLoad` drives readers
and publishers against it for a bounded time and tallies every answer; tests/load/checks.py
says what must hold afterwards.
"""

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bench.server import Browser, Server, docctl_command, multipart
from docctl import office

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "docctl-demo"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SEARCH_WORDS = ["tai lieu", "quy trinh", "ho so", "chat luong", "kiem soat", "van thu",
                "muc tieu", "QT-01", "nghi dinh", "phieu de nghi"]
READ_CODES = ["QT-01", "QT-02", "STCL-01", "CSCL-01", "BM-01-01", "TLBN-01"]


def docctl(data_dir: Path, *args: str, env: dict | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the docctl command on a data folder; return the finished process."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("DOCCTL_")}
    full.update(env or {})
    full["DOCCTL_DATA_DIR"] = str(data_dir)
    return subprocess.run([*docctl_command(), *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout, check=False)


def pg_url_with_schema(url: str, schema: str) -> str:
    """Return a PostgreSQL URL whose connections use their own schema (search_path)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def marker(code: str, number: int) -> str:
    """Return a word only revision `number` of `code` holds (to find it in the index)."""
    return "moc" + code.lower().replace("-", "") + f"x{number:02d}"


class Office:
    """A demo data folder served by `docctl serve`; stopped on leaving the with-block."""

    def __init__(self, tmp: Path, database_url: str | None = None, workers: int = 2):
        self.tmp = tmp
        self.data_dir = tmp / "data"
        self.env = {"DOCCTL_DATABASE_URL": database_url} if database_url else {}
        self.workers = workers
        self.server: Server | None = None
        self.tokens: dict[str, str] = {}

    def __enter__(self) -> "Office":
        started = docctl(self.data_dir, "init", "--demo", env=self.env)
        if started.returncode != 0:
            raise RuntimeError(f"docctl init --demo failed:\n{started.stdout}{started.stderr}")
        self.server = Server(self.data_dir, self.tmp / "server.log", workers=self.workers,
                             env=self.env).__enter__()
        for user in ("secretary", "reviewer", "approver", "staff", "auditor"):
            status, body = self.call("POST", "/api/v1/auth/token",
                                     {"username": user, "password": DEMO_PASSWORD})
            if status != 201:
                raise RuntimeError(f"token for {user}: HTTP {status} {body!r:.300}")
            self.tokens[user] = body["token"]
        return self

    def __exit__(self, *exc_info) -> None:
        if self.server is not None:
            self.server.__exit__()
            self.server = None

    def call(self, method: str, path: str, payload: dict | None = None, *,
             user: str | None = None, raw: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, object]:
        """Send one API request (JSON in, JSON or bytes out) as a user's bearer token."""
        headers = {}
        if user:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        body = raw
        if payload is not None:
            body = json.dumps(payload).encode()
        if body is not None:
            headers["Content-Type"] = content_type
        status, response_headers, data = self.server.request(method, path, body=body,
                                                             headers=headers)
        kind = dict((k.lower(), v) for k, v in response_headers).get("content-type", "")
        if kind.startswith("application/json"):
            try:
                return status, json.loads(data)
            except ValueError:
                return status, data
        return status, data

    def browser(self, user: str) -> Browser:
        """Return a client signed in through the login form."""
        client = Browser(self.server)
        client.login(user, DEMO_PASSWORD)
        return client

    def log_errors(self, lines: int = 12) -> str:
        """Return the last distinct error lines of the server's log (tracebacks' last lines)."""
        try:
            text = self.server.log_path.read_text(errors="replace")
        except OSError:
            return ""
        found = []
        for line in text.splitlines():
            if ("Error" in line or "Exception" in line) and '" 5' not in line \
                    and line.strip() not in found:
                found.append(line.strip())
        return "\n".join(found[-lines:])

    def audit_total(self, action: str) -> int:
        """Return how many audit entries of an action the auditor can list."""
        status, body = self.call("GET", f"/api/v1/audit?action={action}&per_page=1",
                                 user="auditor")
        if status != 200:
            raise RuntimeError(f"GET /api/v1/audit?action={action}: HTTP {status}")
        return body["total"]

    def revisions(self, code: str) -> list[dict]:
        """Return a document's revisions as the secretary sees them."""
        status, body = self.call("GET", f"/api/v1/documents/{code}/revisions", user="secretary")
        if status != 200:
            raise RuntimeError(f"revisions of {code}: HTTP {status} {body!r:.300}")
        return body["revisions"]

    def search(self, words: str, scope: str = "current") -> list[dict]:
        """Return the search results (up to 50) for words, as the auditor."""
        status, body = self.call("GET", f"/api/v1/search?q={quote(words)}&scope={scope}"
                                        "&per_page=50", user="auditor")
        if status != 200:
            raise RuntimeError(f"search {words!r}: HTTP {status} {body!r:.300}")
        return body["results"]

    def tags(self, prefix: str) -> set[str]:
        """Return the git store's tags that start with prefix (e.g. 'QT-L')."""
        listed = subprocess.run(["git", "-C", str(self.data_dir / "repo_store"), "tag", "-l",
                                 f"{prefix}*"], capture_output=True, text=True, check=True)
        return set(listed.stdout.split())

    def verify(self) -> subprocess.CompletedProcess:
        """Run `docctl verify` on the data folder."""
        return docctl(self.data_dir, "verify", env=self.env)


@dataclass
class Tally:
    """Every answer the clients got, by kind of request."""

    statuses: dict[str, Counter] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    clean_503: int = 0   # approvals refused with 503 and a message ("in progress")
    dropped: list[str] = field(default_factory=list)
    approvals: Counter = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)
    answered_ok: dict[str, list[int]] = field(default_factory=dict)
    published: dict[str, list[int]] = field(default_factory=dict)
    refused: dict[str, list[int]] = field(default_factory=dict)
    stuck: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, status: int, method: str, path: str, body: object) -> None:
        with self.lock:
            self.statuses.setdefault(kind, Counter())[status] += 1
            if kind == "approve" and status == 503 and isinstance(body, dict) \
                    and body.get("message"):
                self.clean_503 += 1   # the issue allows an approval refused "in progress"
            elif status >= 500:
                self.server_errors.append(f"{status} {method} {path}: {_gist(body)}")

    def ok(self, kind: str) -> int:
        return self.statuses.get(kind, Counter())[200]

    def count_5xx(self) -> int:
        """Count 5xx answers, less the approvals cleanly refused with 503 and a message."""
        return sum(n for c in self.statuses.values() for s, n in c.items()
                   if s >= 500) - self.clean_503

    def total(self) -> int:
        return sum(sum(c.values()) for c in self.statuses.values())

    def summary(self) -> str:
        kinds = "; ".join(f"{k}: " + ", ".join(f"{s}×{n}" for s, n in sorted(c.items()))
                          for k, c in sorted(self.statuses.items()))
        return (f"{self.total()} requests, {self.count_5xx()} answered 5xx, "
                f"{len(self.dropped)} dropped; approvals {dict(self.approvals)}; {kinds}")


def _gist(body: object) -> str:
    """Return the part of an error answer worth printing (the JSON message, not a page)."""
    if isinstance(body, dict):
        return f"{body.get('error')}: {str(body.get('message'))[:120]}"
    return f"{len(body or b'')} bytes of page"


class OfficeLoad:
    """Readers and publishers working at once against an Office, for a bounded time."""

    def __init__(self, office_: Office, *, readers: int = 24, publishers: int = 4,
                 seconds: float = 30.0, revisions_per_document: int = 4):
        self.office = office_
        self.readers = readers
        self.seconds = seconds
        self.revisions_per_document = revisions_per_document
        self.codes: list[str] = []
        self.publishers = publishers
        self.tally = Tally()
        self.deadline = 0.0

    def _send(self, kind: str, method: str, path: str, *, user: str | None = None,
              browser: Browser | None = None, payload: dict | None = None,
              raw: bytes | None = None, content_type: str = "application/json"):
        try:
            if browser is not None:
                status, body = browser.request(method, path)
            else:
                status, body = self.office.call(method, path, payload, user=user, raw=raw,
                                                content_type=content_type)
        except OSError as exc:   # a dropped connection is as bad as a 500
            with self.tally.lock:
                self.tally.dropped.append(f"{type(exc).__name__} {method} {path}: {exc}")
            return None, None
        self.tally.note(kind, status, method, path, body)
        return status, body

    def _retrying(self, kind: str, method: str, path: str, **kwargs):
        """Send a write; a clean 503 (busy) is tried again, as a person would, 3 times."""
        for _attempt in range(3):
            status, body = self._send(kind, method, path, **kwargs)
            if status != 503:
                break
            time.sleep(0.5)
        return status, body

    def register_documents(self) -> None:
        """Register the documents the publishers will publish (one per publisher)."""
        for i in range(self.publishers):
            status, body = self.office.call("POST", "/api/v1/documents", {
                "type": "procedure", "title": f"Quy trình tải đồng thời {i + 1}",
                "department": "VP", "code": f"QT-L{i + 1:02d}"}, user="secretary")
            if status != 201:
                raise RuntimeError(f"register QT-L{i + 1:02d}: HTTP {status} {body!r:.300}")
            self.codes.append(body["code"])

    def run(self) -> Tally:
        """Run readers and publishers until the deadline; return the tally."""
        if not self.codes:
            self.register_documents()
        staff = self.office.browser("staff")
        threads = [threading.Thread(target=self._reader, args=(n, staff), daemon=True)
                   for n in range(self.readers)]
        threads += [threading.Thread(target=self._publisher, args=(code,), daemon=True)
                    for code in self.codes]
        self.deadline = time.monotonic() + self.seconds
        for thread in threads:
            thread.start()
        for thread in threads:
            # Bounded: each request has its own timeout; the loops stop at the deadline.
            thread.join(timeout=self.seconds + 180)
        return self.tally

    def _reader(self, n: int, staff: Browser) -> None:
        rng = random.Random(n)
        while time.monotonic() < self.deadline:
            code = rng.choice(READ_CODES + self.codes)
            pick = rng.random()
            if pick < 0.35:
                self._send("page", "GET", f"/documents/{code}", browser=staff)
            elif pick < 0.5:
                self._send("register", "GET", "/documents", browser=staff)
            elif pick < 0.75:
                words = rng.choice(SEARCH_WORDS + [marker(c, 1) for c in self.codes])
                self._send("search", "GET", f"/api/v1/search?q={quote(words)}", user="staff")
            else:
                self._download(code)

    def _download(self, code: str) -> None:
        status, body = self._send("lookup", "GET", f"/api/v1/documents/{code}", user="staff")
        if status != 200 or not isinstance(body, dict):
            return
        number = body.get("current_revision")
        if number:
            self._send("download", "GET", f"/api/v1/documents/{code}/revisions/{number}/file",
                       user="staff")

    def _publisher(self, code: str) -> None:
        for number in range(1, self.revisions_per_document + 1):
            if time.monotonic() >= self.deadline:
                return
            if not self._publish_one(code, number):
                return

    def _publish_one(self, code: str, number: int) -> bool:
        """Drive revision `number` upload → approve; return whether to go on."""
        data = office.build_docx(f"Quy trình tải {code}", [
            f"Lần ban hành {number} của {code}.", f"Từ khoá riêng: {marker(code, number)}."],
            code=code, header=f"{code} · Lần ban hành: {number:02d}")
        raw, kind = multipart({"reason": "" if number == 1 else f"Sửa đổi lần {number}",
                               "change": "reissue"},
                               f"{code}.docx", data)
        status, body = self._retrying("upload", "POST", f"/api/v1/documents/{code}/revisions",
                                      user="secretary", raw=raw, content_type=kind)
        if status != 201:
            self._stuck(code, f"upload of r{number} answered {status} {_gist(body)}")
            return False
        number = body["revision"]
        base = f"/api/v1/documents/{code}/revisions/{number}"
        status, body = self._retrying("workflow", "POST", f"{base}/submit", user="secretary",
                                      payload={"reviewers": ["reviewer"],
                                               "approver": "approver"})
        if status != 200:
            self._stuck(code, f"submit of r{number} answered {status} {_gist(body)}")
            return False
        status, body = self._retrying("workflow", "POST", f"{base}/review", user="reviewer",
                                      payload={"decision": "accept", "comment": "Đồng ý"})
        if status != 200:
            self._stuck(code, f"review of r{number} answered {status} {_gist(body)}")
            return False
        return self._approve(code, number, base)

    def _stuck(self, code: str, what: str) -> None:
        with self.tally.lock:
            self.tally.stuck.append(f"{code}: {what}")

    def _approve(self, code: str, number: int, base: str) -> bool:
        today = datetime.now(ZONE).date().isoformat()
        payload = {"password": DEMO_PASSWORD, "effective_date": today}
        # An approver who clicks twice: two approvals of the same revision race each other.
        answers: list[tuple] = []

        def once():
            answers.append(self._send("approve", "POST", f"{base}/approve", user="approver",
                                      payload=payload))

        for _attempt in range(3):
            racers = [threading.Thread(target=once) for _ in range(2)]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join()
            statuses = [status for status, _body in answers[-2:]]
            if any(_done(s) for s in statuses):
                break
            if all(s in (409, 503) for s in statuses) and any(s == 503 for s in statuses):
                time.sleep(0.5)   # refused while busy: the approver tries again
                continue
            break
        with self.tally.lock:
            for status, body in answers:
                self.tally.approvals[status] += 1
                if status in (409, 503) and not (isinstance(body, dict) and body.get("message")):
                    self.tally.refusals.append(f"{code} r{number}: {status} without a message")
                elif status is not None and status < 500 and status not in (409, 503) \
                        and not _done(status):
                    self.tally.refusals.append(f"{code} r{number}: approval answered {status} "
                                               f"(not 409/503): {_gist(body)}")
        # What the revision became decides, not the answers: a 409 may say "already done".
        status, body = self._send("lookup", "GET", base, user="secretary")
        effective = status == 200 and isinstance(body, dict) and body["status"] == "effective"
        with self.tally.lock:
            if any(_done(s) for s, _body in answers):
                self.tally.answered_ok.setdefault(code, []).append(number)
            (self.tally.published if effective else self.tally.refused).setdefault(
                code, []).append(number)
        return effective   # refused: the revision waits for its approver; this publisher stops


def _done(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def print_line(label: str, text: str) -> None:
    """Print a figure line the suite's output keeps (pytest -s or on failure)."""
    print(f"[office load] {label}: {text}", file=sys.stderr)
