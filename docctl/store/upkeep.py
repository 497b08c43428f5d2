"""Upkeep of the git store: integrity check, packing, lock files of dead writers, strays."""

from __future__ import annotations

from docctl.errors import StoreLockTimeout
from docctl.store.locking import StoreLock, maintenance_lock, stale_lock_files

DIRTY_MARKER = "docctl-dirty.json"


PLACEHOLDER = ".gitkeep"


class StoreUpkeep:
    """Methods of GitStore that keep the store sound and fast (mixed into GitStore)."""

    def fsck(self) -> list[str]:
        """Return the problems git fsck --full --strict finds ([] when the store is sound)."""
        status, out, err = self._run(
            ["fsck", "--full", "--strict", "--no-progress", "--no-dangling"], None, None)
        lines = [line.strip() for line in (out + b"\n" + err).decode("utf-8", "replace")
                 .splitlines() if line.strip()]
        if status != 0 and not lines:
            lines.append(f"git fsck exited with status {status}")
        return lines

    def maintain(self) -> None:
        """Pack new objects and tags and refresh the commit-graph so reads stay fast."""
        with maintenance_lock(self.path):
            # pack-refs takes packed-refs.lock, which a writer under StoreLock treats as stale.
            with StoreLock(self.path, self.lock_timeout):
                self._git("pack-refs", "--all")
            # Safe beside writers: git never deletes an object that is not also in a pack.
            self._git("repack", "-d", "-q", "--geometric=2")
            # Changed-path filters keep `git log -- path` from walking all of history.
            self._git("commit-graph", "write", "--reachable", "--changed-paths", "--split")

    def tidy(self, *, deep: bool = False, timeout: float = 0.2) -> dict:
        """Clear dead writers' lock files and restore a half-written work tree.

        Looks first without any lock, and takes the StoreLock only when there is something
        to clear (so no writer waits for a pass that finds nothing). Returns what was done;
        an empty dict also when a writer holds the lock now (the next pass sees again).
        """
        candidates = stale_lock_files(self.git_dir, deep=deep)
        dirty = (self.git_dir / DIRTY_MARKER).exists()
        done: dict = {}
        if not candidates and not dirty:
            return done
        try:
            lock = StoreLock(self.path, timeout)
            lock.acquire()   # acquiring clears the well-known ones already
        except StoreLockTimeout:
            return done
        try:
            removed = lock.remove_stale(candidates)   # each one logged as it goes
            if removed:
                done["locks"] = removed
            if (self.git_dir / DIRTY_MARKER).exists():
                self._recover()
                done["restored"] = True
        finally:
            lock.release()
        return done

    def stray_files(self) -> list[str]:
        """Return work-tree paths that differ from HEAD (untracked, ignored or modified)."""
        with StoreLock(self.path, self.lock_timeout):   # never mistake a live write for strays
            self.sync_index()   # records committed without the index are not strays
            out = self._git("status", "--porcelain=v1", "-z", "--untracked-files=all",
                            "--ignored", "--no-renames")
        # The project's checkout keeps repo_store/ with a placeholder of its own; not a stray.
        return sorted(entry[3:] for entry in out.split("\0")
                      if len(entry) > 3 and entry[3:] != PLACEHOLDER)

