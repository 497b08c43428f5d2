"""Where an index lives: its writer lock across processes, fresh builds and the atomic swap."""

from __future__ import annotations

import ctypes
import glob
import json
import logging
import os
import shutil
import threading
from contextlib import contextmanager

from docctl.flock import wait_for_flock
from docctl.search.base import MARKER, SCHEMA_VERSION, SearchBusy, SearchUnavailable

log = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class IndexLocation:
    """The index directory, with a lock file beside it (so a swap never moves the lock)."""

    def __init__(self, path: str):
        self.path = os.path.abspath(os.fspath(path))
        self.lock_path = self.path + ".lock"

    def identity(self) -> tuple | None:
        """Return what changes when the index is swapped or rebuilt; None when missing."""
        try:
            directory = os.stat(self.path)
            marker = os.stat(os.path.join(self.path, MARKER))
        except FileNotFoundError:
            return None
        # The marker too: a directory deleted and recreated may get its old inode back.
        return directory.st_dev, directory.st_ino, marker.st_ino, marker.st_mtime_ns

    @contextmanager
    def writer_lock(self, timeout: float = 30.0):
        """Hold the one-writer lock (flock), waiting up to timeout, else raise SearchBusy."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
        try:
            if not wait_for_flock(fd, timeout, first_pause=0.005, max_pause=0.1):
                raise SearchBusy("another process is writing the search index")
            yield
        finally:
            os.close(fd)   # closing the descriptor releases the flock

    def fresh_build_path(self) -> str:
        """Return an empty directory for a rebuild; leftovers of crashed builds are removed."""
        for stale in glob.glob(glob.escape(self.path) + ".new-*") + glob.glob(
                glob.escape(self.path) + ".old-*"):
            shutil.rmtree(stale, ignore_errors=True)
        build = f"{self.path}.new-{os.getpid()}"
        os.makedirs(build)
        return build

    def swap_in(self, build: str) -> None:
        """Make build the index in one step; the old index is removed afterwards."""
        if os.path.isdir(self.path) and _exchange(build, self.path):
            shutil.rmtree(build, ignore_errors=True)
            return
        # No atomic exchange here: two renames, the gap lasts microseconds.
        old = f"{self.path}.old-{os.getpid()}"
        if os.path.lexists(self.path):
            os.rename(self.path, old)
        os.rename(build, self.path)
        shutil.rmtree(old, ignore_errors=True)


def _exchange(a: str, b: str) -> bool:
    """Swap two directories atomically (Linux renameat2); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        log.info("atomic index swap unavailable (errno %s); renaming", ctypes.get_errno())
        return False
    return True


def write_marker(path: str, backend: str) -> None:
    """Record which backend and schema built the index in path."""
    with open(os.path.join(path, MARKER), "w", encoding="utf-8") as handle:
        json.dump({"backend": backend, "schema": SCHEMA_VERSION}, handle)


def check_marker(path: str, backend: str) -> None:
    """Raise SearchUnavailable unless path holds an index of this backend and schema."""
    if not os.path.isdir(path):
        raise SearchUnavailable("the search index is missing; rebuild it", path=path)
    try:
        with open(os.path.join(path, MARKER), encoding="utf-8") as handle:
            marker = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SearchUnavailable("the search index is incomplete; rebuild it",
                                path=path) from exc
    if marker.get("backend") != backend or marker.get("schema") != SCHEMA_VERSION:
        raise SearchUnavailable("the search index was built differently; rebuild it",
                                path=path, found=marker)


class ReaderCache:
    """One open backend per process, reopened when the index directory is swapped."""

    def __init__(self):
        self.lock = threading.Lock()
        self.backend = None
        self.key = None

    def get(self, name: str, location: IndexLocation):
        """Return the open backend of location, or raise SearchUnavailable."""
        from docctl.search import make_backend

        identity = location.identity()
        with self.lock:
            if identity is None:
                self._close()
                raise SearchUnavailable("the search index is missing; rebuild it")
            key = (name, location.path, identity)
            if self.backend is None or self.key != key:
                self._close()
                backend = make_backend(name)
                backend.open(location.path)
                self.backend, self.key = backend, key
            return self.backend

    def _close(self) -> None:
        if self.backend is not None:
            self.backend.close()
        self.backend, self.key = None, None
