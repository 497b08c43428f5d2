"""Run a command that dies, with all it started, when the worker that asked for it dies.

Used where no PID namespace can be made (the kernel then does this job). Standard library only:
it runs as `python -I -S reaper.py WORKER_PID COMMAND...`, without docctl or its packages.
"""

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def _kill_group(*_args) -> None:
    # The command and everything it forked share this process's group (so does this process).
    os.killpg(0, signal.SIGKILL)


def main(argv: list[str]) -> int:
    """Start the command; kill its whole group if the worker dies or this process is stopped."""
    worker, command = int(argv[0]), argv[1:]
    signal.signal(signal.SIGTERM, _kill_group)
    signal.signal(signal.SIGINT, _kill_group)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != worker:   # the worker died before the signal was armed
        _kill_group()
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
