import logging
import multiprocessing
import subprocess
import threading
import time

import pytest

from docctl.errors import StoreLockTimeout
from docctl.store import GitStore, Person, StoreLock, document_dir

AUTHOR = Person("Lê Văn C", "c@example.vn")


@pytest.fixture
def store(tmp_path):
    with GitStore.init(tmp_path / "store") as s:
        yield s


def write(store, n, worker=0):
    return store.write_revision(
        document_dir("QT", "QT-01"), {"content.txt": f"{worker}:{n}".encode()},
        subject=f"QT-01 w{worker} n{n}", body=None,
        trailers=[("Docctl-Intent", f"w{worker}-{n}")], author=AUTHOR)


def writer_process(path, worker, count, start):
    start.wait(10)
    with GitStore(path) as store:
        for n in range(count):
            write(store, n, worker)


def holder_process(path, ready, release):
    with StoreLock(path):
        ready.set()
        release.wait(30)


@pytest.fixture
def holder(store):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=holder_process, args=(str(store.path), ready, release))
    proc.start()
    assert ready.wait(30)
    yield release
    release.set()
    proc.join(30)


def git(store, *args):
    return subprocess.run(["git", *args], cwd=store.path, check=True, capture_output=True,
                          text=True).stdout


def test_two_processes_writing_concurrently_lose_nothing(store):
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=writer_process, args=(str(store.path), w, 20, start))
             for w in (1, 2)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert int(git(store, "rev-list", "--count", "HEAD")) == 41
    assert git(store, "rev-list", "--min-parents=2", "HEAD") == ""
    intents = {t[1] for c in store.history() for t in c.trailers if t[0] == "Docctl-Intent"}
    assert intents == {f"w{w}-{n}" for w in (1, 2) for n in range(20)}
    assert git(store, "status", "--porcelain") == ""
    assert store.fsck() == []


def test_threads_sharing_one_store_are_serialised(store):
    threads = [threading.Thread(target=lambda w=w: [write(store, n, w) for n in range(5)])
               for w in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(git(store, "rev-list", "--count", "HEAD")) == 16
    assert git(store, "status", "--porcelain") == ""


def test_stale_index_lock_is_removed_under_our_lock(store, caplog):
    stale = store.path / ".git" / "index.lock"
    stale.write_bytes(b"left by a crashed writer")
    with caplog.at_level(logging.WARNING, logger="docctl.store.locking"):
        sha = write(store, 1)
    assert not stale.exists()
    assert store.head() == sha
    assert any("stale git lock" in r.getMessage() for r in caplog.records)


def test_live_lock_times_out_and_leaves_index_lock_alone(store, holder):
    index_lock = store.path / ".git" / "index.lock"
    index_lock.write_bytes(b"")
    head = store.head()
    started = time.monotonic()
    with pytest.raises(StoreLockTimeout):
        GitStore(store.path, lock_timeout=0.2).write_revision(
            document_dir("QT", "QT-01"), {"content.txt": b"x"}, subject="s", body=None,
            trailers=[], author=AUTHOR)
    assert 0.15 < time.monotonic() - started < 5
    assert index_lock.exists()
    assert store.head() == head


def test_writer_waits_for_a_live_lock(store, holder):
    threading.Timer(0.5, holder.set).start()
    started = time.monotonic()
    sha = write(store, 1)
    assert time.monotonic() - started >= 0.4
    assert store.head() == sha


def test_lock_is_exclusive_within_one_process(store):
    with StoreLock(store.path), pytest.raises(StoreLockTimeout):
        StoreLock(store.path, timeout=0.05).acquire()
    with StoreLock(store.path, timeout=0.05):
        pass


def init_process(path, start):
    start.wait(10)
    GitStore.init(path).close()


def test_concurrent_first_start_initialises_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    root = tmp_path / "fresh"
    procs = [ctx.Process(target=init_process, args=(str(root), start)) for _ in range(3)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=root, text=True,
                          capture_output=True, check=True).stdout.strip() == "1"


def crashing_writer(path, crash_before):
    import os
    import signal

    store = GitStore(path)
    real = store._git

    def git_then_die(*args, **kw):
        if args[0] == crash_before:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kw)

    store._git = git_then_die
    store.write_revision(document_dir("QT", "QT-77"), {"content.txt": b"half", "x.json": b"{}"},
                         subject="never lands", body=None, trailers=[], author=AUTHOR)


@pytest.mark.parametrize("crash_before", ["add", "commit-tree", "update-ref"])
def test_writer_killed_mid_commit_leaves_nothing_behind(store, crash_before):
    head = write(store, 1)
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=crashing_writer, args=(str(store.path), crash_before))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -9
    assert store.head() == head
    sha = write(store, 2)  # must not wait for the dead writer nor commit its files
    changed = git(store, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).split()
    assert changed == ["documents/QT/QT-01/content.txt"]
    assert not (store.path / "documents" / "QT" / "QT-77").exists()
    assert git(store, "status", "--porcelain", "--untracked-files=all") == ""
