"""Git objects written directly: trees and commits for write-once folders, without git's index.

A record is one new folder under records/<year>/<bucket>/. Committing it through git's index
costs a read and a rewrite of an index that lists every file of the store (`git add` then
`git write-tree`: ~40 ms at 2,000 documents, more on a busy machine). Here the few trees on the
folder's path are read with one `git cat-file --batch`, the new blobs, trees and commit are
written as loose objects (fsync'd, as core.fsync=committed asks), and only the ref update is
left to git. The index learns the new paths later, from HEAD, before the next index-based
commit (see PENDING): it is never ahead of HEAD, at worst behind it by folders HEAD has.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from pathlib import Path

FILE_MODE = b"100644"
TREE_MODE = b"40000"
# Paths committed here and not yet in git's index, one per line (under the store lock).
PENDING = "docctl-index-pending"


def _object_path(git_dir: Path, hexsha: str) -> Path:
    return git_dir / "objects" / hexsha[:2] / hexsha[2:]


def write_object(git_dir: Path, kind: str, data: bytes) -> bytes:
    """Write a loose object (durably) unless git has it loose already; return its binary id."""
    raw = f"{kind} {len(data)}\0".encode() + data
    binsha = hashlib.sha1(raw, usedforsecurity=False).digest()
    target = _object_path(git_dir, binsha.hex())
    if target.exists():
        return binsha
    target.parent.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="tmp_obj_")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(zlib.compress(raw, 1))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o444)
        # As git does for core.fsync=objects: the file is flushed before its rename, the
        # folder is not (a journalling file system orders the rename before later ones).
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return binsha


def parse_tree(data: bytes) -> dict[bytes, tuple[bytes, bytes]]:
    """Return a tree's entries: name → (mode, binary id)."""
    entries, i = {}, 0
    while i < len(data):
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        entries[data[space + 1:nul]] = (data[i:space], data[nul + 1:nul + 21])
        i = nul + 21
    return entries


def tree_bytes(entries: dict[bytes, tuple[bytes, bytes]]) -> bytes:
    """Return the bytes of a tree, its entries in git's order (a folder sorts as "name/")."""
    def key(name: bytes) -> bytes:
        return name + b"/" if entries[name][0] == TREE_MODE else name
    return b"".join(mode + b" " + name + b"\0" + binsha
                    for name in sorted(entries, key=key)
                    for mode, binsha in [entries[name]])


def parse_batch(out: bytes, count: int) -> list[bytes | None]:
    """Split `git cat-file --batch` output into each object's content (None if missing)."""
    results, i = [], 0
    for _ in range(count):
        eol = out.index(b"\n", i)
        header = out[i:eol].split()
        i = eol + 1
        if len(header) == 3:
            size = int(header[2])
            results.append(out[i:i + size])
            i += size + 1
        else:
            results.append(None)   # "<name> missing"
    return results


def commit_bytes(tree: bytes, parent: str, author: str, committer: str, when: str,
                 message: str) -> bytes:
    """Return the bytes of a commit (when: "<unix seconds> +0000", as git writes it)."""
    return (f"tree {tree.hex()}\nparent {parent}\nauthor {author} {when}\n"
            f"committer {committer} {when}\n\n{message}").encode()


def add_pending(git_dir: Path, paths: list[str]) -> None:
    """Note paths a direct commit adds, for the index to pick up from HEAD later."""
    with open(git_dir / PENDING, "a", encoding="utf-8") as out:
        out.write("".join(f"{p}\n" for p in paths))
        out.flush()
        os.fsync(out.fileno())


def pending(git_dir: Path) -> list[str]:
    """Return the paths noted by add_pending, oldest first, each once."""
    try:
        text = (git_dir / PENDING).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(line for line in text.splitlines() if line))


def clear_pending(git_dir: Path) -> None:
    """Forget the noted paths once the index holds them."""
    (git_dir / PENDING).unlink(missing_ok=True)
