import os
import random
import subprocess
from datetime import UTC, datetime, timedelta, timezone

import pytest

from docctl.errors import StoreError, ValidationError
from docctl.store import GitStore, Person, document_dir, record_dir, revision_tag

AUTHOR = Person("Nguyễn Thị Hoa", "hoa@so-tnmt.gov.vn")
DOC = document_dir("QT", "QT-01")
BRANCH_LINE = " refs/heads/main\n"


@pytest.fixture
def store(tmp_path):
    with GitStore.init(tmp_path / "store") as s:
        yield s


def git(store, *args):
    return subprocess.run(["git", *args], cwd=store.path, check=True, capture_output=True,
                          text=True).stdout


def write(store, files=None, **kw):
    kw.setdefault("subject", "QT-01 r1: publish")
    kw.setdefault("body", None)
    kw.setdefault("trailers", [("Docctl-Document", "QT-01")])
    kw.setdefault("author", AUTHOR)
    return store.write_revision(kw.pop("directory", DOC), files or {"content.txt": b"x"}, **kw)


def status(store):
    return git(store, "status", "--porcelain", "--untracked-files=all")


def test_init_is_idempotent_and_configured(tmp_path):
    first = GitStore.init(tmp_path / "s")
    head = first.head()
    first.close()
    with GitStore.init(tmp_path / "s") as again:
        assert again.head() == head
        info = again.commit_info(head)
    assert info.subject == "docctl store initialised"
    assert info.author == Person("docctl", "docctl@localhost")
    root = tmp_path / "s"
    assert (root / ".gitattributes").read_bytes().splitlines()[-1] == b"*.docx binary"
    assert b"* -text" in (root / ".gitattributes").read_bytes()
    config = (root / ".git" / "config").read_text()
    for line in ("autocrlf = false", "auto = 0", "hooksPath = .git/docctl-no-hooks"):
        assert line in config
    assert (root / ".git" / "docctl-no-hooks").is_dir()
    assert git_count(root) == 1


def git_count(root):
    return int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=root,
                              capture_output=True, text=True, check=True).stdout)


def test_commit_carries_trailers_author_committer_and_time(store):
    when = datetime(2026, 11, 20, 9, 14, 3, tzinfo=timezone(timedelta(hours=7)))
    trailers = [("Docctl-Document", "QT-01"), ("Docctl-Revision", "3"),
                ("Approved-By", "Trần Văn Bình"), ("Docctl-Intent", "7f3c-01")]
    sha = write(store, trailers=trailers, body="Sửa đổi mục 5.\nThêm biểu mẫu.", when=when)
    info = store.commit_info(sha)
    assert info.trailers == tuple(trailers)
    assert info.author == AUTHOR
    assert info.authored_at == when.astimezone(UTC)
    assert info.authored_at.tzinfo == UTC
    assert "Thêm biểu mẫu." in info.message
    fmt = git(store, "log", "-1", "--format=%cn|%ce|%at|%ct|%P", sha).strip().split("|")
    assert fmt[:2] == ["docctl", "docctl@localhost"]
    assert fmt[2] == fmt[3] == str(int(when.timestamp()))
    assert git(store, "rev-parse", f"{sha}^").strip() == store.history()[1].sha
    assert store.head() == sha


def test_naive_time_and_empty_author_are_rejected(store):
    with pytest.raises(ValidationError):
        write(store, when=datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        write(store, author=Person(" <> ", "x@y"))


def test_tag_is_annotated_points_at_commit_and_never_moves(store):
    tag = revision_tag("QT-01", 1)
    sha = write(store, tag=tag, tag_message="Ban hành lần 1")
    assert git(store, "cat-file", "-t", f"refs/tags/{tag}").strip() == "tag"
    assert store.tag_target(tag) == sha
    assert store.tags() == {tag: sha}
    assert "Ban hành lần 1" in git(store, "cat-file", "-p", f"refs/tags/{tag}")
    assert store.tag_target("QT-01/r2") is None
    git(store, "pack-refs", "--all")  # what maintenance does to thousands of tags
    assert store.head() == sha and store.tags() == {tag: sha}

    files_before = (store.path / DOC / "content.txt").read_bytes()
    with pytest.raises(StoreError):
        write(store, {"content.txt": b"other", "revision.json": b"{}"}, tag=tag)
    assert store.head() == sha
    assert store.tag_target(tag) == sha
    assert status(store) == ""
    assert (store.path / DOC / "content.txt").read_bytes() == files_before


def test_failed_ref_update_rolls_back_files_and_index(store, monkeypatch):
    base = write(store, {"content.txt": b"v1"})
    tag = revision_tag("QT-01", 1)
    write(store, {"content.txt": b"v2"}, tag=tag)
    head = store.head()
    # Skip the early check so the atomic ref transaction itself has to refuse the tag.
    real = store._read_ref
    monkeypatch.setattr(store, "_read_ref", lambda n: None if "tags" in n else real(n))
    new_doc = document_dir("HD", "HD-09")
    with pytest.raises(StoreError):
        write(store, {"content.txt": b"v3", "source.docx": b"new"}, tag=tag)
    with pytest.raises(StoreError):
        write(store, {"content.txt": b"n"}, directory=new_doc, tag=tag)
    assert store.head() == head
    assert store.tag_target(tag) == head != base
    assert status(store) == ""
    assert (store.path / DOC / "content.txt").read_bytes() == b"v2"
    assert not (store.path / DOC / "source.docx").exists()
    assert not (store.path / "documents" / "HD").exists()


def test_bytes_are_stored_exactly(store):
    rng = random.Random(7)
    files = {
        "source.docx": bytes(rng.randrange(256) for _ in range(50_000)) + b"\r\n\x00\r",
        "content.txt": "dòng 1\r\ndòng 2\rdòng 3\n\x00\n".encode(),
        "document.json": b"",
        "revision.json": b"\n",
    }
    sha = write(store, files)
    for name, data in files.items():
        assert store.read_file(sha, f"{DOC}/{name}") == data
        assert (store.path / DOC / name).read_bytes() == data
    assert status(store) == ""
    with pytest.raises(StoreError):
        store.read_file(sha, f"{DOC}/missing.txt")


def test_expected_head_mismatch_writes_nothing(store):
    base = store.head()
    sha = write(store, {"content.txt": b"one"}, expected_head=base)
    with pytest.raises(StoreError, match="stale base"):
        write(store, {"content.txt": b"two", "source.docx": b"s"}, expected_head=base)
    assert store.head() == sha
    assert status(store) == ""
    assert (store.path / DOC / "content.txt").read_bytes() == b"one"


def test_find_intent_returns_newest_match_within_window(store):
    first = write(store, trailers=[("Docctl-Intent", "abc-1")])
    write(store, trailers=[("Docctl-Intent", "abc-2")])
    again = write(store, trailers=[("Docctl-Intent", "abc-1")])
    write(store, trailers=[("Reason-For-Change", "Docctl-Intent: abc-3")])
    assert store.find_intent("abc-1") == again != first
    assert store.find_intent("abc-3") is None
    assert store.find_intent("abc-2", max_count=1) is None
    assert store.find_intent("abc-2", max_count=3) is not None
    with pytest.raises(ValidationError):
        store.find_intent("--all")


def test_history_is_newest_first_and_filters_by_path(store):
    shas = [write(store, {"content.txt": str(i).encode()}) for i in range(3)]
    other = write(store, {"content.txt": b"x"}, directory=document_dir("BM", "BM-07-02"))
    assert [c.sha for c in store.history(path=DOC)] == shas[::-1]
    assert [c.sha for c in store.history(max_count=2)] == [other, shas[-1]]
    assert len(store.history()) == 5
    store.maintain()
    assert (store.path / ".git/objects/info/commit-graphs/commit-graph-chain").exists()
    assert "count: 0" in git(store, "count-objects", "-v")  # loose objects went into a pack
    assert BRANCH_LINE in (store.path / ".git" / "packed-refs").read_text()
    assert [c.sha for c in store.history(path=DOC)] == shas[::-1]
    newest = write(store, {"content.txt": b"after"}, tag=revision_tag("QT-01", 1))
    store.maintain()
    assert [c.sha for c in store.history(path=DOC)] == [newest, *shas[::-1]]
    assert store.tag_target("QT-01/r1") == newest and store.fsck() == []
    with pytest.raises(StoreError):
        store.commit_info("0" * 40)


def test_records_are_written_once(store):
    rec = record_dir(2026, "HS-000123")
    sha = store.commit_files(rec, {"record.json": b"{}"}, subject="HS-000123: file",
                             body=None, trailers=[], author=AUTHOR)
    with pytest.raises(StoreError):
        store.commit_files(rec, {"record.json": b"{1}"}, subject="again", body=None,
                           trailers=[], author=AUTHOR)
    assert store.head() == sha
    assert store.stray_files() == [] and status(store) == ""
    with pytest.raises(ValidationError):
        store.commit_files(DOC, {"x.json": b"{}"}, subject="s", body=None, trailers=[],
                           author=AUTHOR)
    with pytest.raises(ValidationError):
        write(store, directory=rec)


def test_half_written_state_of_a_crashed_writer_is_cleaned(store):
    base = write(store, {"content.txt": b"good"})
    # A writer killed after staging: files written and added, marker left, no commit.
    crashed = document_dir("QT", "QT-99")
    (store.path / crashed).mkdir(parents=True)
    (store.path / crashed / "content.txt").write_bytes(b"half")
    (store.path / DOC / "content.txt").write_bytes(b"half")
    git(store, "add", "--", crashed, DOC)
    (store.path / ".git" / "docctl-dirty.json").write_text(
        f'["{crashed}/content.txt", "{DOC}/content.txt"]')
    sha = write(store, {"content.txt": b"next"}, directory=document_dir("BM", "BM-01"))
    changed = git(store, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).split()
    assert changed == ["documents/BM/BM-01/content.txt"]
    assert store.read_file(sha, f"{DOC}/content.txt") == b"good"
    assert not (store.path / crashed).exists()
    assert status(store) == ""
    assert base in [c.sha for c in store.history()]


def test_inherited_git_environment_is_ignored(store, tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "other-index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path))
    sha = write(store)
    assert store.read_file(sha, f"{DOC}/content.txt") == b"x"
    assert not (tmp_path / "other-index").exists()
    assert not (tmp_path / "elsewhere").exists()


def test_hooks_in_the_default_dir_never_run(store, tmp_path):
    witness = tmp_path / "hook-ran"
    hooks = store.path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in ("reference-transaction", "post-commit", "pre-commit"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {witness}\n")
        (hooks / name).chmod(0o755)
    write(store, tag=revision_tag("QT-01", 1))
    assert not witness.exists()
    # The same hook in the configured (empty) dir does run: the setting is what protects us.
    configured = store.path / ".git" / "docctl-no-hooks" / "reference-transaction"
    (hooks / "reference-transaction").rename(configured)
    write(store, {"content.txt": b"y"})
    assert witness.exists()


def test_fsck_clean_then_reports_corrupt_object(store):
    sha = write(store, {"source.docx": os.urandom(2000)})
    assert store.fsck() == []
    blob = git(store, "rev-parse", f"{sha}:{DOC}/source.docx").strip()
    obj = store.path / ".git" / "objects" / blob[:2] / blob[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"garbage" * 10)
    problems = store.fsck()
    assert problems
    assert any(blob in p or "corrupt" in p or "inflate" in p for p in problems)


def test_unreadable_marker_does_not_block_writers(store):
    write(store, {"content.txt": b"good"})
    (store.path / DOC / "content.txt").write_bytes(b"half")
    git(store, "add", "--", DOC)
    (store.path / ".git" / "docctl-dirty.json").write_text('["../../etc/passwd"')
    sha = write(store, {"content.txt": b"next"}, directory=document_dir("BM", "BM-01"))
    assert store.read_file(sha, f"{DOC}/content.txt") == b"good"
    assert status(store) == ""


def test_find_intent_searches_every_commit_after_the_intents_head(tmp_path):
    """However many commits came after, the intent's commit is found; an unknown head too."""
    from docctl.store import GitStore, Person
    store = GitStore.init(tmp_path / "store")
    try:
        base = store.head()
        author = Person("A", "a@docctl.invalid")
        sha = store.write_revision("documents/QT/QT-01", {"a.txt": b"1"}, subject="s",
                                   body=None, trailers=[("Docctl-Intent", "abc123")],
                                   author=author)
        for i in range(3):
            store.write_revision("documents/QT/QT-02", {"b.txt": str(i).encode()},
                                 subject="t", body=None, trailers=[], author=author)
        assert store.find_intent("abc123", max_count=2) is None   # beyond a fixed window
        assert store.find_intent("abc123", since=base) == sha
        assert store.find_intent("abc123", since="f" * 40) == sha  # a head never seen
        assert store.find_intent("abc123", since=sha) is None      # not after its own commit
    finally:
        store.close()


def test_the_checkouts_placeholder_is_not_a_stray_file_but_anything_else_is(tmp_path):
    from docctl.store import GitStore
    with GitStore.init(tmp_path / "store") as store:
        (tmp_path / "store" / ".gitkeep").write_text("")
        assert store.stray_files() == []
        (tmp_path / "store" / "notes.txt").write_text("x")
        assert store.stray_files() == ["notes.txt"]


def test_records_committed_without_the_index_survive_the_next_document_commit(store):
    """A record's commit skips git's index; the next index-based commit must still keep it."""
    first = store.commit_files(record_dir(2026, "HS-2026-000001"), {"record.json": b"{1}",
                                                                   "content.sealed": b"\x01"},
                               subject="HS-2026-000001: file", body=None, trailers=[],
                               author=AUTHOR)
    second = store.commit_files(record_dir(2026, "HS-2026-000150"), {"record.json": b"{2}"},
                                subject="HS-2026-000150: file", body=None, trailers=[],
                                author=AUTHOR)
    assert git(store, "rev-parse", f"{second}^").strip() == first
    documented = write(store, {"content.txt": b"qt"})
    listed = git(store, "ls-tree", "-r", "--name-only", documented).split()
    assert {"records/2026/0000/HS-2026-000001/record.json",
            "records/2026/0000/HS-2026-000001/content.sealed",
            "records/2026/0001/HS-2026-000150/record.json",
            "documents/QT/QT-01/content.txt"} <= set(listed)
    assert store.read_file(documented, "records/2026/0001/HS-2026-000150/record.json") == b"{2}"
    assert status(store) == "" and store.fsck() == []
    # the objects written directly are what git itself would have written
    assert git(store, "cat-file", "-t", first).strip() == "commit"
    assert "HS-2026-000001: file" in git(store, "log", "-1", "--format=%B", first)
