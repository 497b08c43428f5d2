"""Read many files from the store with one git process (verify reads every revision)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator

from docctl.errors import StoreError
from docctl.store.gitstore import GitStore
from docctl.store.layout import check_path, check_sha


def read_blobs(store: GitStore, specs: Iterable[tuple[str, str]]
               ) -> Iterator[tuple[str, str, bytes | None]]:
    """Yield (commit, path, bytes or None if absent) for each (commit, path), in order."""
    items = [(check_sha(commit), check_path(path)) for commit, path in specs]
    if not items:
        return
    # One `cat-file --batch` instead of a process per file: ~2 ms each adds up at 10k files.
    with tempfile.TemporaryFile() as requests:
        requests.write("".join(f"{commit}:{path}\n" for commit, path in items).encode())
        requests.seek(0)
        try:
            process = subprocess.Popen(
                [store._exe, "cat-file", "--batch"], stdin=requests, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env={**os.environ, **store._env})
        except FileNotFoundError as exc:
            raise StoreError("git is not installed") from exc
        out = process.stdout
        try:
            for commit, path in items:
                header = out.readline().split()
                if len(header) != 3:        # "<spec> missing" or "ambiguous"
                    yield commit, path, None
                    continue
                data = out.read(int(header[2]))
                out.read(1)                 # the newline after each object
                yield commit, path, data if header[1] == b"blob" else None
        finally:
            out.close()
            process.wait()
