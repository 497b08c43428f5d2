"""Print how many failed sign-ins a real 2-worker server accepts (default limits); not a test.

Run: .venv/bin/python -m tests.web.probe_signin_limits   (from the repository root)
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers import PASSWORD
from tests.web.test_signin_throttle import DOCCTL, ROOT, Server, _free_port


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DOCCTL_DATA_DIR": str(Path(tmp) / "data")}
        env.pop("DOCCTL_DATABASE_URL", None)
        subprocess.run([*DOCCTL, "init"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([*DOCCTL, "create-user", "--username", "alice", "--name", "Alice",
                        "--role", "staff", "--password", PASSWORD], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "--no-control-socket", "docctl.wsgi:app"], cwd=ROOT, env=env,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            time.sleep(3)
            srv = Server(port, Path(tmp) / "unused")
            fails = 0
            while True:
                send = srv.web if fails % 2 else srv.api
                if send("127.0.0.2", "alice", f"guess {fails}")[0] == 429:
                    break
                fails += 1
            print(f"one address, web form and API alternating: {fails} failures, then 429")
            print(f"the user's right password from another address meanwhile: "
                  f"{srv.web('127.0.0.3', 'alice', PASSWORD)[0]}")
            total, addr = fails, 10
            while srv.api(f"127.0.1.{addr}", "alice", PASSWORD)[0] != 429:
                for _ in range(10):      # each address stays under its own limit
                    if srv.api(f"127.0.1.{addr}", "alice", "spray")[0] == 429:
                        break
                    total += 1
                addr += 1
            print(f"all addresses together: {total} failures on the account, then a new "
                  f"address is refused (429) even with the right password")
            print(f"the address alice signed in from before, right password: "
                  f"{srv.api('127.0.0.3', 'alice', PASSWORD)[0]}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
