import os
import subprocess

import pytest

from docctl.errors import ValidationError
from docctl.store import GitStore, Person, document_dir, revision_tag

HOSTILE = [
    "--upload-pack=touch {pwned}",
    "--template=x",
    "-c core.hooksPath={tmp}",
    "a\n[core]\n\thooksPath={tmp}",
    "x\nApproved-By: mallory",
    "$(touch {pwned})",
    "a\x00b",
]
BAD_SEGMENTS = ["../x", "-x", "QT/../../etc", "a.lock", "a\x00b", "..", ".git", "--all", ""]


def snapshot(root, skip):
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) != str(skip)]
        found.update(os.path.join(dirpath, f) for f in filenames)
    return found


@pytest.fixture
def env(tmp_path):
    store = GitStore.init(tmp_path / "store")
    before = snapshot(tmp_path, store.path)
    config = (store.path / ".git" / "config").read_bytes()
    yield store, tmp_path
    assert snapshot(tmp_path, store.path) == before
    assert not os.path.exists("/tmp/pwned")
    assert (store.path / ".git" / "config").read_bytes() == config
    store.close()


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_text_is_inert(env, template):
    store, tmp = env
    text = template.format(pwned=tmp / "pwned", tmp=tmp)
    sha = store.write_revision(
        document_dir("QT", "QT-01"), {"content.txt": text.encode()}, subject=text, body=text,
        trailers=[("Reason-For-Change", text), ("Docctl-Action", "publish")],
        author=Person(text, text), tag=revision_tag("QT-01", 1), tag_message=text)
    info = store.commit_info(sha)
    assert [k for k, _ in info.trailers] == ["Reason-For-Change", "Docctl-Action"]
    assert "\n" not in info.subject and "\n" not in info.author.name
    assert store.read_file(sha, "documents/QT/QT-01/content.txt") == text.encode()
    assert store.tag_target("QT-01/r1") == sha
    assert store.fsck() == []
    hooks = subprocess.run(["git", "config", "--get-all", "core.hooksPath"], cwd=store.path,
                           capture_output=True, text=True).stdout.split()
    assert hooks == [".git/docctl-no-hooks"]


@pytest.mark.parametrize("bad", BAD_SEGMENTS)
def test_hostile_paths_and_refs_are_rejected(env, bad):
    store, _ = env
    head = store.head()
    kw = dict(subject="s", body=None, trailers=[], author=Person("A", "a@b"))
    attempts = [
        lambda: store.write_revision(f"documents/QT/{bad}", {"content.txt": b"x"}, **kw),
        lambda: store.write_revision("documents/QT/QT-01", {bad: b"x"}, **kw),
        lambda: store.write_revision("documents/QT/QT-01", {"content.txt": b"x"},
                                     tag=f"QT-01/{bad}", **kw),
        lambda: store.write_revision("documents/QT/QT-01", {"content.txt": b"x"},
                                     expected_head=bad, **kw),
        lambda: store.write_revision("documents/QT/QT-01", {"content.txt": b"x"},
                                     trailers=[(bad, "v")], **{k: v for k, v in kw.items()
                                                               if k != "trailers"}),
        lambda: store.read_file(bad, "documents/QT/QT-01/content.txt"),
        lambda: store.read_file(head, f"documents/{bad}"),
        lambda: store.commit_info(bad),
        lambda: store.history(path=f"documents/{bad}"),
        lambda: store.tag_target(bad),
        lambda: store.find_intent(bad),
        lambda: document_dir("QT", bad),
        lambda: revision_tag(bad, 1),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError):
            attempt()
    assert store.head() == head


@pytest.mark.parametrize("path", ["documents/../../etc/x", "/etc/passwd", "documents/QT",
                                  "records/2026/HS-1", "documents/QT/QT-01/x"])
def test_write_outside_a_document_folder_is_rejected(env, path):
    store, _ = env
    with pytest.raises(ValidationError):
        store.write_revision(path, {"content.txt": b"x"}, subject="s", body=None, trailers=[],
                             author=Person("A", "a@b"))
