"""An office at once: a real `docctl serve` (2 workers) on a demo data folder, bounded clients.

Used by test_office_load.py; run it directly to print the figures of issue #9:
    python -m tests.web.office_load [sqlite|postgresql] [clients] [rounds]
"""

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.server import ROOT, Browser, Server

PG_BASE = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
DEMO_PASSWORD = "docctl-demo"
PEOPLE = ("staff", "secretary", "reviewer", "approver", "auditor", "admin")




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


def serving(env: dict, log_path: Path) -> Server:
    """Return `docctl serve` (2 workers, the scheduler on) for env's data folder."""
    return Server(Path(env["DOCCTL_DATA_DIR"]), log_path, env=env)


def effective_number(server: Server, code: str) -> int:
    """Return the number of the revision of code in force."""
    browser = Browser(server)
    browser.login("staff", DEMO_PASSWORD)
    status, body = browser.request("GET", f"/api/v1/documents/{code}")
    assert status == 200, status
    return int(json.loads(body)["current_revision"])


def office(server: Server, *, code: str = "QT-01", clients: int = 12, rounds: int = 25,
           deadline_s: float = 120.0) -> dict:
    """Let clients each download code's controlled copy and view its page rounds times."""
    number = effective_number(server, code)
    statuses: Counter = Counter()
    ok = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s
    browsers = []
    for i in range(clients):
        browser = Browser(server)
        browser.login(PEOPLE[i % len(PEOPLE)], DEMO_PASSWORD)
        browsers.append(browser)
    paths = {"download": f"/documents/{code}/revisions/{number}/download",
             "view": f"/documents/{code}"}

    def client(browser: Browser) -> None:
        for _ in range(rounds):
            if time.monotonic() > stop_at:
                return
            for kind, path in paths.items():
                status, body = browser.request("GET", path)
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
            with serving(env, Path(tmp) / "server.log") as server:
                started = time.monotonic()
                result = office(server, clients=clients, rounds=rounds)
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
