"""Run the real server (`docctl serve`: gunicorn, 2 workers) and talk to it over HTTP."""

import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    BENCH_PORTS=FIRST-LAST keeps the choice inside a range (a shared machine's allotment);
    otherwise the kernel picks one.
    """
    allotted = os.environ.get("BENCH_PORTS", "")
    if not allotted:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    first, last = (int(part) for part in allotted.split("-"))
    ports = list(range(first, last + 1))
    random.shuffle(ports)   # parallel test workers rarely try the same port first
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in BENCH_PORTS={allotted}")


def request(port: int, method: str, path: str, *, body: bytes | None = None,
            headers: dict | None = None,
            timeout: float = 30) -> tuple[int, list[tuple[str, str]], bytes]:
    """Send one request to 127.0.0.1:port on a new connection; return status, headers, body."""
    # A new connection each time: gunicorn's sync workers close every one anyway.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    """Return a multipart/form-data body with fields and one .docx `file`, and its type."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: application/vnd.openxmlformats-'
                 f'officedocument.wordprocessingml.document\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


ROOT = Path(__file__).resolve().parent.parent


def docctl_command() -> list[str]:
    """Return the argv that runs the docctl command of this checkout (run it with cwd=ROOT).

    Not the environment's `docctl` script: an editable install may point at another checkout,
    whose code would then be measured (or tested) with this checkout's config.py.
    """
    return [sys.executable, "-c", "from docctl.cli import main; main()"]


class Server:
    """One `docctl serve` process group, stopped on exit from the with-block."""

    def __init__(self, data_dir: Path, log_path: Path, workers: int = 2,
                 env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.extra_env = dict(env or {})
        self.log_path = log_path
        self.workers = workers
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCTL_")}
        env.update(self.extra_env)
        env.update(DOCCTL_DATA_DIR=str(self.data_dir), DOCCTL_PORT=str(self.port))
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(
            [*docctl_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
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
                raise RuntimeError(f"docctl serve exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                status, _headers, _body = self.request("GET", "/login")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"docctl serve not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def __exit__(self, *exc_info) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            # The server runs in its own session: signal its group (master and workers).
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        if getattr(self, "_log", None):
            self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send one request on a new connection; return status, headers and body."""
        return request(self.port, method, path, body=body, headers=headers)

    def pids(self) -> list[int]:
        """Return the master's pid and its children's (the workers)."""
        master = self.proc.pid
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Field 4 (ppid) follows the command name, which may hold spaces: split after ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(entry.name))
        return [master, *sorted(children)]

    def rss_mib(self) -> tuple[float, int]:
        """Return the summed resident memory of master and workers (MiB), and the count."""
        total_kib = 0
        pids = self.pids()
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        return total_kib / 1024, len(pids)


class Browser:
    """A cookie-keeping HTTP client that signs in through the real login form."""

    def __init__(self, server: Server):
        self.server = server
        self.cookies: dict[str, str] = {}

    def _remember(self, headers) -> None:
        for name, value in headers:
            if name.lower() == "set-cookie":
                cookie = SimpleCookie()
                cookie.load(value)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value

    def request(self, method: str, path: str, *, form: dict | None = None,
                headers: dict | None = None):
        """Send a request with the session cookie; return status and body."""
        headers = dict(headers or {})
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, response_headers, data = self.server.request(method, path, body=body,
                                                             headers=headers)
        self._remember(response_headers)
        return status, data

    def login(self, username: str, password: str) -> None:
        """Sign in through GET /login (CSRF token) and POST /login."""
        status, page = self.request("GET", "/login")
        match = _CSRF.search(page.decode("utf-8", "replace"))
        if status != 200 or match is None:
            raise RuntimeError(f"GET /login gave {status} without a CSRF token")
        status, page = self.request("POST", "/login", form={
            "username": username, "password": password, "csrf_token": match.group(1)})
        if status != 302:
            raise RuntimeError(f"sign-in as {username} failed with {status}: {page[:300]!r}")
