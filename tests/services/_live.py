"""A real `docctl serve` (gunicorn, 2 workers, the scheduler on) on the test's data set."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from bench.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def database_url(app) -> str:
    """Return the test app's database URL, with its PostgreSQL schema for another process."""
    url = app.config["DATABASE_URL"]
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("options")
    return f"{url}?options={quote(options)}" if options else url


class LiveServer:
    """`docctl serve` in its own process group, stopped (and reaped) on exit."""

    def __init__(self, app, log_path: Path, *, faults: tuple[str, ...] = ()):
        self.app, self.log_path, self.faults = app, log_path, faults
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "LiveServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCTL_")}
        env.update(PYTHONPATH=str(ROOT), DOCCTL_DATA_DIR=self.app.config["DATA_DIR"],
                   DOCCTL_DATABASE_URL=database_url(self.app),
                   DOCCTL_SECRET_KEY=self.app.config["SECRET_KEY"],
                   DOCCTL_FAULT_POINTS=",".join(self.faults))
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from docctl.cli import main; main()", "serve",
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docctl serve exited: {self.log()[-3000:]}")
            status, _ = self.call("GET", "/login")
            if status == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"docctl serve did not answer: {self.log()[-3000:]}")

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

    def __exit__(self, *exc_info) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


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
