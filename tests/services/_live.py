"""A real `docctl serve` (gunicorn, 2 workers, the scheduler on) on the test's data set."""

import http.client
import json
import time
from pathlib import Path
from urllib.parse import quote

from bench.server import ROOT, Server


def database_url(app) -> str:
    """Return the test app's database URL, with its PostgreSQL schema for another process."""
    url = app.config["DATABASE_URL"]
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("options")
    return f"{url}?options={quote(options)}" if options else url


class LiveServer(Server):
    """`docctl serve` on the test app's data set and database, with the given crash points."""

    def __init__(self, app, log_path: Path, *, faults: tuple[str, ...] = ()):
        super().__init__(Path(app.config["DATA_DIR"]), log_path, env={
            "PYTHONPATH": str(ROOT), "DOCCTL_DATABASE_URL": database_url(app),
            "DOCCTL_SECRET_KEY": app.config["SECRET_KEY"],
            "DOCCTL_FAULT_POINTS": ",".join(faults)})

    def call(self, method: str, path: str, *, token: str | None = None,
             data: dict | None = None, timeout: float = 60) -> tuple[int | None, dict | None]:
        """Send one request; return (status, JSON body), or (None, None) if the worker died."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = None
        if data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (ConnectionError, http.client.HTTPException, OSError):
            return None, None
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, None

    def log(self) -> str:
        """Return what the server has logged so far."""
        return self.log_path.read_text(errors="replace")


def wait_for(predicate, *, timeout: float = 60.0, pause: float = 0.2):
    """Poll predicate until it returns something true; return it, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f} s")
        time.sleep(pause)
