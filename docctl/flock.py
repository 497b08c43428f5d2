"""Wait for an exclusive flock without blocking forever (shared by the store and search locks)."""

import errno
import fcntl
import os
import time


def wait_for_flock(fd: int, timeout: float, *, first_pause: float = 0.002,
                   max_pause: float = 0.1) -> bool:
    """Take an exclusive flock on fd, polling with backoff; return False after timeout."""
    deadline = time.monotonic() + timeout
    pause = first_pause
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, max_pause)


def try_flock(path: str) -> int | None:
    """Open (creating) path and take its exclusive flock without waiting; None if it is held.

    The caller owns the returned descriptor: closing it (or the process dying) frees the lock.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd
