"""The one-writer-at-a-time lock of the git store, shared across processes."""

from __future__ import annotations

import fcntl
import logging
import os
from contextlib import contextmanager

from docctl.errors import StoreLockTimeout
from docctl.flock import wait_for_flock

log = logging.getLogger(__name__)

LOCK_NAME = "docctl-writer.lock"
# Lock files git leaves behind when a writer dies between creating and renaming them.
# Every docctl writer takes StoreLock first, so while we hold it none of these can be live.
STALE_GIT_LOCKS = ("index.lock", "HEAD.lock", "refs/heads/main.lock", "packed-refs.lock")


class StoreLock:
    """Hold fcntl.flock on <repo>/.git/docctl-writer.lock for the duration of a with-block."""

    def __init__(self, repo_path, timeout: float = 30.0):
        self.git_dir = os.path.join(os.fspath(repo_path), ".git")
        self.path = os.path.join(self.git_dir, LOCK_NAME)
        self.timeout = float(timeout)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Tell whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, waiting up to timeout seconds, then clear git's stale lock files."""
        if self._fd is not None:
            raise RuntimeError("StoreLock is not re-entrant")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
        try:
            if not wait_for_flock(fd, self.timeout, max_pause=0.02):
                raise StoreLockTimeout(
                    "the document store is busy; try again",
                    holder=self._holder(fd),
                    timeout=self.timeout,
                )
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self._clear_stale_git_locks()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Give the lock back (closing the descriptor releases the flock)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _holder(self, fd: int) -> str:
        try:
            return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            return ""

    def _clear_stale_git_locks(self) -> None:
        for name in STALE_GIT_LOCKS:
            _remove_stale(os.path.join(self.git_dir, name))

    def remove_stale(self, paths: list[str]) -> list[str]:
        """Remove lock files found by stale_lock_files; only while holding the StoreLock."""
        if self._fd is None:
            raise RuntimeError("remove_stale needs the StoreLock held")
        return [os.path.relpath(path, self.git_dir) for path in paths if _remove_stale(path)]

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def stale_lock_files(git_dir, *, deep: bool = False) -> list[str]:
    """Return git lock files present now (without any lock: candidates to check under it).

    deep also walks refs/ (a dead writer's refs/tags/QT-01/r3.lock blocks that tag for
    good); the walk is cheap once pack-refs has packed the loose refs.
    """
    git_dir = os.fspath(git_dir)
    found = [os.path.join(git_dir, name) for name in STALE_GIT_LOCKS
             if os.path.lexists(os.path.join(git_dir, name))]
    if deep:
        for folder, _dirs, files in os.walk(os.path.join(git_dir, "refs")):
            found += [os.path.join(folder, name) for name in files if name.endswith(".lock")]
    return sorted(set(found))


def _remove_stale(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    log.warning("removed stale git lock %s left by a crashed writer", path)
    return True


@contextmanager
def directory_lock(path):
    """Hold an exclusive flock on a directory itself (before .git exists to hold a lock file)."""
    fd = os.open(os.fspath(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def maintenance_lock(repo_path):
    """Let one maintenance run at a time; writers do not take this lock."""
    path = os.path.join(os.fspath(repo_path), ".git", "docctl-maintenance.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
