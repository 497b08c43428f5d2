"""Pre-fill a docctl git store with many commits through git plumbing (fast-import)."""

import json
import os
import subprocess
from pathlib import Path

COMMITTER = b"docctl <docctl@localhost>"


def git_env(store: Path) -> dict:
    """Return an environment that points git at the store and ignores user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_DIR=str(store / ".git"), GIT_WORK_TREE=str(store),
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    return env


def git(store: Path, *args: str, stdin: bytes | None = None) -> str:
    """Run one git command in the store; return stdout as text."""
    result = subprocess.run(["git", *args], input=stdin, env=git_env(store),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


# Type folders the filler documents spread over, as a register spreads over types.
FOLDERS = [("procedure", "QT"), ("instruction", "HD"), ("form", "BM"), ("external", "TLBN")]


def _stream(head: str, commits: int, documents: int, start: int):
    """Yield a fast-import stream: commits round-robin over FILLER documents, one tag each."""
    step = 3600  # one publish an hour, oldest first
    for i in range(commits):
        number = i % documents + 1
        revision = i // documents + 1
        code = f"FILLER-{number:04d}"
        doc_type, folder = FOLDERS[number % len(FOLDERS)]
        when = b"%d +0000" % (start + i * step)
        facts = {"code": code, "title": f"Tài liệu nền số {number}", "type": doc_type,
                 "department": {"code": "VP", "name": "Văn phòng"}, "parent": None,
                 "review_months": 12, "status": "effective", "current_revision": revision,
                 "external_source": None}
        blob = (json.dumps(facts, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
        message = (f'{code} r{revision}: publish "Tài liệu nền số {number}"\n\n'
                   f"Lần ban hành {revision:02d}.\n\n"
                   f"Docctl-Document: {code}\nDocctl-Revision: {revision}\n"
                   f"Docctl-Action: publish\nPrepared-By: bench <secretary>\n"
                   f"Approved-By: bench <approver>\n").encode()
        yield b"commit refs/heads/main\nmark :%d\n" % (i + 1)
        yield b"author Bench Approver <approver@docctl.invalid> " + when + b"\n"
        yield b"committer " + COMMITTER + b" " + when + b"\n"
        yield _data(message)
        if i == 0:
            yield b"from " + head.encode() + b"\n"
        path = f"documents/{folder}/{code}/document.json".encode()
        yield b"M 100644 inline " + path + b"\n" + _data(blob)
        yield b"tag " + f"{code}/r{revision}".encode() + b"\nfrom :%d\n" % (i + 1)
        yield b"tagger " + COMMITTER + b" " + when + b"\n"
        yield _data(f"{code} r{revision} approved".encode())


def fill(store: Path, *, commits: int = 10_000, documents: int = 2_000,
         start: int = 1_500_000_000) -> int:
    """Append commits (and one tag each) to main; sync index and work tree; return the count."""
    head = git(store, "rev-parse", "--verify", "refs/heads/main").strip()
    stream = b"".join(_stream(head, commits, documents, start)) + b"done\n"
    # Setup, not a measurement: skip the store's fsync of every object and ref.
    git(store, "-c", "core.fsync=none", "fast-import", "--quiet", "--done", stdin=stream)
    # The store commits from its index: bring index and work tree to the new tip.
    git(store, "read-tree", "--reset", "-u", "refs/heads/main")
    return int(git(store, "rev-list", "--count", "refs/heads/main").strip())
