"""An office at once: a real gunicorn (2 workers) on a demo data folder, bounded clients.

Used by test_office_load.py; run it directly to print the figures of issue #9:
    python -m tests.web.office_load [sqlite|postgresql] [clients] [rounds]
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from bench.server import free_port

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
DEMO_PASSWORD = "docctl-demo"
PEOPLE = ("staff", "secretary", "reviewer", "approver", "auditor", "admin")
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')




def pg_url(schema: str) -> str:
    """Return a PostgreSQL URL whose connections use schema."""
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


@contextmanager
def pg_schema(schema: str):
    """Create a dedicated schema; drop it afterwards."""
    engine = create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_url(schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def environment(data_dir: Path, database_url: str | None = None, **extra) -> dict:
    """Return the environment of a docctl process on data_dir (and database_url)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCTL_")}
    env.update(DOCCTL_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    if database_url:
        env["DOCCTL_DATABASE_URL"] = database_url
    env.update({f"DOCCTL_{k}": str(v) for k, v in extra.items()})
    return env


def init_demo(env: dict) -> None:
    """Create the data folder with the demo organisation (`docctl init --demo`)."""
    subprocess.run([sys.executable, "-c", "from docctl.cli import main; main()", "init",
                    "--demo"], env=env, cwd=ROOT, check=True, capture_output=True,
                   timeout=180)


@contextmanager
def gunicorn(env: dict, log_path: Path, workers: int = 2):
    """Run gunicorn on docctl.wsgi:app; yield its port; stop its whole process group."""
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--no-control-socket", "docctl.wsgi:app"],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
            try:
                if request(port, "GET", "/login")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn not ready after 60 s")
            time.sleep(0.2)
        yield port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


def request(port: int, method: str, path: str, *, body: bytes | None = None,
            headers: dict | None = None):
    """Send one request on a new connection; return status, headers and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


class Browser:
    """A cookie-keeping client that signs in through the login form."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def get(self, path: str, *, form: dict | None = None):
        """Send GET (or POST with form); return status, headers, body."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, response_headers, data = request(self.port, "POST" if form else "GET", path,
                                                 body=body, headers=headers)
        for name, value in response_headers:
            if name.lower() == "set-cookie":
                cookie = SimpleCookie()
                cookie.load(value)
                self.cookies.update({k: m.value for k, m in cookie.items()})
        return status, dict(response_headers), data

    def login(self, username: str) -> None:
        """Sign in as username with the demo password."""
        _status, _headers, page = self.get("/login")
        token = _CSRF.search(page.decode("utf-8", "replace")).group(1)
        status, _headers, _body = self.get("/login", form={
            "username": username, "password": DEMO_PASSWORD, "csrf_token": token})
        if status != 302:
            raise RuntimeError(f"sign-in as {username} gave {status}")


def effective_number(port: int, code: str) -> int:
    """Return the number of the revision of code in force."""
    browser = Browser(port)
    browser.login("staff")
    status, _headers, body = browser.get(f"/api/v1/documents/{code}")
    assert status == 200, status
    return int(json.loads(body)["current_revision"])


def office(port: int, *, code: str = "QT-01", clients: int = 12, rounds: int = 25,
           deadline_s: float = 120.0) -> dict:
    """Let clients each download code's controlled copy and view its page rounds times."""
    number = effective_number(port, code)
    statuses: Counter = Counter()
    ok = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s
    browsers = []
    for i in range(clients):
        browser = Browser(port)
        browser.login(PEOPLE[i % len(PEOPLE)])
        browsers.append(browser)
    paths = {"download": f"/documents/{code}/revisions/{number}/download",
             "view": f"/documents/{code}"}

    def client(browser: Browser) -> None:
        for _ in range(rounds):
            if time.monotonic() > stop_at:
                return
            for kind, path in paths.items():
                status, _headers, body = browser.get(path)
                with lock:
                    statuses[status] += 1
                    if status == 200:
                        ok[kind] += 1
                    elif status >= 500 and len(failures) < 5:
                        failures.append(f"{status} {path}: {body[:200]!r}")

    threads = [threading.Thread(target=client, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"statuses": dict(statuses), "ok": dict(ok), "failures": failures,
            "errors_5xx": sum(n for s, n in statuses.items() if s >= 500),
            "requests": sum(statuses.values()), "number": number}


def trail(env: dict) -> dict:
    """Count the views and downloads in the trail of env's data folder and verify the chain."""
    script = (
        "import json\n"
        "from sqlalchemy import func, select\n"
        "from docctl import create_app\n"
        "from docctl.extensions import db\n"
        "from docctl.models import AuditEvent\n"
        "from docctl.services import audit\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    counts = dict(db.session.execute(select(AuditEvent.action, func.count())"
        ".group_by(AuditEvent.action)).all())\n"
        "    seqs = db.session.execute(select(func.min(AuditEvent.seq), func.max(AuditEvent.seq),"
        " func.count())).one()\n"
        "    broken = [f.message for f in audit.verify_chain()]\n"
        "    print(json.dumps({'counts': counts, 'min': seqs[0], 'max': seqs[1],"
        " 'total': seqs[2], 'broken': broken}))\n")
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Run the office load on one database and print the figures."""
    import tempfile
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        schema = f"docctl_load_{os.getpid()}"
        ctx = pg_schema(schema) if kind == "postgresql" else nothing()
        with ctx as url:
            env = environment(data, url)
            init_demo(env)
            before = trail(env)
            with gunicorn(env, Path(tmp) / "gunicorn.log") as port:
                started = time.monotonic()
                result = office(port, clients=clients, rounds=rounds)
                result["load_seconds"] = round(time.monotonic() - started, 1)
            after = trail(env)
        for action in ("download", "viewed"):
            result[f"trail_{action}"] = (after["counts"].get(action, 0)
                                         - before["counts"].get(action, 0))
        result["chain"] = after["broken"] or "verifies"
        result["seqs_contiguous"] = after["max"] - after["min"] + 1 == after["total"]
        print(json.dumps({"database": kind, "clients": clients, "rounds": rounds, **result},
                         ensure_ascii=False, indent=1))
    return 0


@contextmanager
def nothing():
    yield None


if __name__ == "__main__":
    sys.exit(main())
