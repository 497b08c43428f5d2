"""The git store: controlled content and approval facts as commits on one linear branch."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import git

from docctl import faults
from docctl.errors import StaleHead, StoreError, TagExists, ValidationError
from docctl.store import objects
from docctl.store.layout import (
    DISPOSITIONS,
    DOCUMENTS,
    RECORDS,
    RELEASES,
    check_path,
    check_segment,
    check_sha,
    check_tag,
    is_path,
    read_ref,
)
from docctl.store.locking import StoreLock, directory_lock
from docctl.store.trailers import (
    clean_body,
    clean_ident,
    format_message,
    parse_trailers,
    subject_of,
)
from docctl.store.upkeep import DIRTY_MARKER, StoreUpkeep

log = logging.getLogger(__name__)

BRANCH = "refs/heads/main"
COMMITTER_NAME = "docctl"
COMMITTER_EMAIL = "docctl@localhost"
INITIAL_SUBJECT = "docctl store initialised"
# "* -text" keeps bytes exact; the other unsets stop a user-level attributes file from
# adding filters or encodings behind our back. content.txt keeps its diffs.
GITATTRIBUTES = b"* -text -filter -ident -working-tree-encoding\n*.docx binary\n"
HOOKS_DIR = ".git/docctl-no-hooks"
LOCAL_CONFIG = (
    ("core.autocrlf", "false"),
    ("core.hooksPath", HOOKS_DIR),  # relative: hooks run from the work tree root
    ("core.fsync", "committed"),  # an approval the DB calls done must survive power loss
    ("core.fsyncMethod", "batch"),
    ("gc.auto", "0"),  # we run maintenance ourselves, never inside a user's request
    ("maintenance.auto", "false"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("user.name", COMMITTER_NAME),
    ("user.email", COMMITTER_EMAIL),
)
_INTENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")
_LOG_FORMAT = "--format=%H%x00%an%x00%ae%x00%at%x00%B"


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    message: str
    author: Person
    authored_at: datetime
    trailers: tuple[tuple[str, str], ...]


def _git_date(when: datetime | None) -> str:
    if when is None:
        when = datetime.now(UTC)
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise ValidationError("commit time must be an aware datetime")
    return f"@{int(when.timestamp())} +0000"


class GitStore(StoreUpkeep):
    """Read and write the store through git commands; one writer at a time via StoreLock."""

    def __init__(self, path, *, lock_timeout: float = 30.0):
        self.path = Path(path).resolve()
        self.git_dir = self.path / ".git"
        self.lock_timeout = lock_timeout
        if not self.git_dir.is_dir():
            raise StoreError("not a docctl store", path=str(self.path))
        try:
            self._repo = git.Repo(self.path)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise StoreError("not a docctl store", path=str(self.path)) from exc
        self._exe = git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git"
        # Pin every location git might take from an inherited environment (a hook sets
        # GIT_DIR / GIT_INDEX_FILE), and keep user and system config out of our commands.
        self._env = {
            "GIT_DIR": str(self.git_dir), "GIT_WORK_TREE": str(self.path),
            "GIT_INDEX_FILE": str(self.git_dir / "index"), "GIT_COMMON_DIR": str(self.git_dir),
            "GIT_OBJECT_DIRECTORY": str(self.git_dir / "objects"), "GIT_NAMESPACE": "",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_PARAMETERS": "", "GIT_CONFIG_COUNT": "0",
            "GIT_NO_REPLACE_OBJECTS": "1", "GIT_LITERAL_PATHSPECS": "1",
            "GIT_OPTIONAL_LOCKS": "0",  # readers never take index.lock
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_COMMITTER_NAME": COMMITTER_NAME, "GIT_COMMITTER_EMAIL": COMMITTER_EMAIL,
        }

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def init(cls, path) -> GitStore:
        """Create the store at path if needed, set its config and make the initial commit."""
        root = Path(path).resolve()
        root.mkdir(parents=True, exist_ok=True)
        # Workers starting together on a fresh machine must not run git init at the same time.
        with directory_lock(root):
            if not (root / ".git").is_dir():
                env = {"GIT_DIR": str(root / ".git"), "GIT_WORK_TREE": str(root),
                       "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
                # --template= copies no sample hooks or other template files.
                git.Git(str(root)).execute(
                    [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", "init", "-q", "--template=",
                     "-b", "main"], env=env)
        store = cls(root)
        try:
            with StoreLock(root, store.lock_timeout):
                (root / HOOKS_DIR).mkdir(exist_ok=True)
                for key, value in LOCAL_CONFIG:
                    store._git("config", "--local", key, value)
                store._initial_commit()
        except BaseException:
            store.close()
            raise
        return store

    def _initial_commit(self) -> None:
        head_ref = (self.git_dir / "HEAD").read_text().strip()
        if head_ref != f"ref: {BRANCH}":
            raise StoreError("the store must be on branch main", head=head_ref[:80])
        if self._read_ref(BRANCH) is not None:
            return
        (self.path / ".gitattributes").write_bytes(GITATTRIBUTES)
        self._git("add", "--", ".gitattributes")
        tree = self._git("write-tree").strip()
        date = _git_date(None)
        env = {"GIT_AUTHOR_NAME": COMMITTER_NAME, "GIT_AUTHOR_EMAIL": COMMITTER_EMAIL,
               "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        sha = self._git("commit-tree", tree, "-F", "-",
                        stdin=format_message(INITIAL_SUBJECT, None, []), env=env).strip()
        self._git("update-ref", "-m", "docctl: init", "--stdin",
                  stdin=f"create {BRANCH} {sha}\n")

    def close(self) -> None:
        """Close the Repo so no git child process outlives us."""
        self._repo.close()

    def __enter__(self) -> GitStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def write_revision(self, document_dir: str, files: dict[str, bytes], *, subject: str,
                       body: str | None, trailers: list[tuple[str, str]], author: Person,
                       when: datetime | None = None, tag: str | None = None,
                       tag_message: str | None = None, expected_head: str | None = None) -> str:
        """Commit files into one document folder (and tag it); return the commit sha."""
        parts = check_path(document_dir, "document folder").split("/")
        if len(parts) != 3 or parts[0] != DOCUMENTS:
            raise ValidationError("not a document folder", value=document_dir[:80])
        return self._commit(self._in_folder(document_dir, files), subject=subject, body=body,
                            trailers=trailers, author=author, when=when,
                            tags=[(tag, tag_message)] if tag is not None else [],
                            expected_head=expected_head)

    def write_change(self, files: dict[str, bytes], *, subject: str, body: str | None,
                     trailers: list[tuple[str, str]], author: Person,
                     when: datetime | None = None,
                     tags: list[tuple[str, str | None]] = (),
                     expected_head: str | None = None) -> str:
        """Commit files in several document, release or disposition folders as one commit.

        Keys are store paths ("documents/QT/QT-01/revision.json"); every path sits directly in
        a document folder or a release folder. All refs move in one update or none do.
        """
        if not isinstance(files, dict) or not files:
            raise ValidationError("nothing to commit")
        for path in files:
            parts = check_path(path, "store path").split("/")
            if not ((len(parts) == 4 and parts[0] == DOCUMENTS)
                    or (len(parts) == 3 and parts[0] in (RELEASES, DISPOSITIONS))):
                raise ValidationError("not a file in a document, release or disposition folder",
                                      value=path[:80])
        return self._commit(dict(files), subject=subject, body=body, trailers=trailers,
                            author=author, when=when, tags=list(tags),
                            expected_head=expected_head)

    def commit_files(self, record_dir: str, files: dict[str, bytes], *, subject: str,
                     body: str | None, trailers: list[tuple[str, str]], author: Person,
                     when: datetime | None = None, expected_head: str | None = None) -> str:
        """Commit new files into one record folder; records are written once, never rewritten.

        The objects are written directly (store/objects.py), not through git's index.
        """
        parts = check_path(record_dir, "record folder").split("/")
        if len(parts) != 4 or parts[0] != RECORDS:
            raise ValidationError("not a record folder", value=record_dir[:80])
        by_path = self._in_folder(record_dir, files)
        for path, data in by_path.items():
            if not isinstance(data, bytes | bytearray | memoryview):
                raise ValidationError("file content must be bytes", name=path.rsplit("/")[-1])
        message = format_message(subject, body, trailers)
        if not isinstance(author, Person):
            raise ValidationError("author must be a Person")
        name, email = clean_ident(author.name, author.email)
        date = _git_date(when)[1:]   # "@<seconds> +0000" → as a commit object writes it
        if expected_head is not None:
            check_sha(expected_head)
        paths = list(by_path)
        with StoreLock(self.path, self.lock_timeout):
            self._recover()
            head = self.head()
            if expected_head is not None and expected_head != head:
                raise StaleHead("stale base", expected=expected_head, actual=head)
            levels = ["/".join(parts[:n]) for n in range(4)]     # "", records, …/2026, …/0001
            trees = self._trees_at(head, levels)
            if parts[3].encode() in (trees[3] or {}):
                raise StoreError("a record is written once and never rewritten", dir=record_dir)
            child = objects.write_object(self.git_dir, "tree", objects.tree_bytes({
                name_.encode(): (objects.FILE_MODE,
                                 objects.write_object(self.git_dir, "blob", bytes(data)))
                for name_, data in files.items()}))
            for level in (3, 2, 1, 0):
                entries = dict(trees[level] or {})
                entries[parts[level].encode()] = (objects.TREE_MODE, child)
                child = objects.write_object(self.git_dir, "tree", objects.tree_bytes(entries))
            sha = objects.write_object(self.git_dir, "commit", objects.commit_bytes(
                child, head, f"{name} <{email}>", f"{COMMITTER_NAME} <{COMMITTER_EMAIL}>", date,
                message)).hex()
            marker = self.git_dir / DIRTY_MARKER
            marker.write_text(json.dumps(paths))
            objects.add_pending(self.git_dir, paths)   # before the ref: never lost
            try:
                for path, data in by_path.items():     # the work tree mirrors HEAD
                    target = self.path / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(bytes(data))
                faults.point("publish.before_ref_update")
                self._git("update-ref", "-m", "docctl: record", "--stdin",
                          stdin=f"update {BRANCH} {sha} {head}\n")
            except BaseException:
                self._restore_after_failure(paths)
                raise
            marker.unlink()
        return sha

    def _trees_at(self, commit: str, paths: list[str]) -> list[dict | None]:
        """Return the entries of the tree at each path of a commit (None where there is none)."""
        names = "".join(f"{commit}^{{tree}}\n" if not p else f"{commit}:{p}\n" for p in paths)
        status, out, err = self._run(["cat-file", "--batch"], names, None)
        if status != 0:
            raise StoreError("cannot read the store's trees", detail=err[-200:].decode(
                errors="replace"))
        return [None if data is None else objects.parse_tree(data)
                for data in objects.parse_batch(out, len(paths))]

    def sync_index(self) -> None:
        """Bring git's index up to HEAD for paths committed without it (under the lock)."""
        paths = objects.pending(self.git_dir)
        if not paths:
            return
        status, out, _err = self._run(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                                      "".join(f"HEAD:{p}\n" for p in paths), None)
        if status != 0:
            raise StoreError("cannot read HEAD for the index")
        lines = []
        for path, answer in zip(paths, out.decode().splitlines(), strict=True):
            sha, _sep, kind = answer.partition(" ")
            # In HEAD: the index takes its entry. Not in HEAD (a write that failed): none.
            lines.append(f"100644 {sha}\t{path}\n" if kind == "blob"
                         else f"0 {'0' * 40}\t{path}\n")
        self._git("update-index", "--index-info", stdin="".join(lines))
        objects.clear_pending(self.git_dir)

    @staticmethod
    def _in_folder(directory: str, files: dict[str, bytes]) -> dict[str, bytes]:
        if not isinstance(files, dict) or not files:
            raise ValidationError("nothing to commit")
        for name in files:
            check_segment(name, "file name")
        return {f"{directory}/{name}": data for name, data in files.items()}

    def _commit(self, files, *, subject, body, trailers, author, when, tags,
                expected_head) -> str:
        # Validate everything before taking the lock or touching a file.
        for path, data in files.items():
            check_path(path, "store path")
            if not isinstance(data, bytes | bytearray | memoryview):
                raise ValidationError("file content must be bytes", name=path.rsplit("/")[-1])
        message = format_message(subject, body, trailers)
        if not isinstance(author, Person):
            raise ValidationError("author must be a Person")
        name, email = clean_ident(author.name, author.email)
        date = _git_date(when)
        if expected_head is not None:
            check_sha(expected_head)
        tag_texts = []
        for tag, tag_message in tags:
            check_tag(tag)
            tag_texts.append((tag, clean_body(tag_message or "") or tag))
        if len({tag for tag, _text in tag_texts}) != len(tag_texts):
            raise ValidationError("the same tag twice in one commit")
        paths = list(files)
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
               "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}

        with StoreLock(self.path, self.lock_timeout):
            self._recover()
            head = self.head()
            if expected_head is not None and expected_head != head:
                raise StaleHead("stale base", expected=expected_head, actual=head)
            for tag, _text in tag_texts:
                if self._read_ref(f"refs/tags/{tag}") is not None:
                    raise TagExists("tag already exists; tags never move", tag=tag)
                # Under StoreLock no git writer is live: a lock on this tag is a dead one's.
                (self.git_dir / "refs" / "tags" / f"{tag}.lock").unlink(missing_ok=True)
            self.sync_index()   # the index learns folders committed without it first
            marker = self.git_dir / DIRTY_MARKER
            marker.write_text(json.dumps(paths))
            try:
                for path, data in files.items():
                    target = self.path / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(bytes(data))
                # -f: a user-level excludes file must not make git refuse our own paths.
                self._git("add", "-f", "--", *paths)
                tree = self._git("write-tree").strip()
                sha = self._git("commit-tree", tree, "-p", head, "-F", "-",
                                stdin=message, env=env).strip()
                updates = f"update {BRANCH} {sha} {head}\n"
                for tag, tag_text in tag_texts:
                    tag_object = (f"object {sha}\ntype commit\ntag {tag}\ntagger "
                                  f"{COMMITTER_NAME} <{COMMITTER_EMAIL}> {date[1:]}\n\n"
                                  f"{tag_text}\n")
                    tag_sha = self._git("mktag", stdin=tag_object).strip()
                    # "create" fails if the tag exists, and --stdin applies all updates or none.
                    updates += f"create refs/tags/{tag} {tag_sha}\n"
                faults.point("publish.before_ref_update")
                self._git("update-ref", "-m", "docctl: write", "--stdin", stdin=updates)
            except BaseException:
                self._restore_after_failure(paths)
                raise
            marker.unlink()
        return sha

    def _restore_after_failure(self, paths: list[str]) -> None:
        try:
            self._restore(paths)
        except Exception:
            # Keep the marker: the next writer retries the restore before it writes.
            log.exception("could not restore the store after a failed write")
        else:
            (self.git_dir / DIRTY_MARKER).unlink(missing_ok=True)

    def _recover(self) -> None:
        marker = self.git_dir / DIRTY_MARKER
        try:
            paths = json.loads(marker.read_text())
        except FileNotFoundError:
            return
        except ValueError:
            paths = None
        log.warning("restoring the work tree left half-written by a crashed writer")
        if isinstance(paths, list) and all(is_path(p) for p in paths):
            self._restore(paths)
        else:
            # An unreadable marker must not block every later write: reset all tracked files.
            self._git("reset", "-q", "--hard", "HEAD")
        marker.unlink()

    def _restore(self, paths: list[str]) -> None:
        """Put index and work tree back to HEAD for paths, so the next writer starts clean."""
        if not paths:
            return
        tracked = set(self._git("ls-tree", "--name-only", "HEAD", "--", *paths).splitlines())
        if tracked:
            self._git("checkout", "-q", "HEAD", "--", *sorted(tracked))
        new = [p for p in paths if p not in tracked]
        if new:
            self._git("rm", "-q", "--cached", "--ignore-unmatch", "--", *new)
            for rel in new:
                target = self.path / rel
                target.unlink(missing_ok=True)
                for parent in target.parents:
                    if parent == self.path:
                        break
                    try:
                        parent.rmdir()
                    except OSError:
                        break

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> str:
        """Return the sha of the newest commit on main."""
        sha = self._read_ref(BRANCH)
        if sha is None:
            raise StoreError("the store has no commits", path=str(self.path))
        return sha

    def read_file(self, commit: str, path: str) -> bytes:
        """Return the exact bytes of path as of commit."""
        spec = f"{check_sha(commit)}:{check_path(path)}"
        status, out, _ = self._run(["cat-file", "blob", spec], None, None)
        if status != 0:
            raise StoreError("no such file in the store", commit=commit, path=path)
        return out

    def find_intent(self, intent_id: str, *, since: str | None = None,
                    max_count: int | None = 500) -> str | None:
        """Return the newest commit whose Docctl-Intent is intent_id.

        With since (the head the intent was made on), every commit after it is searched,
        however many; without it, the last max_count.
        """
        if not isinstance(intent_id, str) or _INTENT.fullmatch(intent_id) is None:
            raise ValidationError("invalid intent id", value=repr(intent_id)[:80])
        revs = ["HEAD"]
        if since is not None:
            # A head this store never had (a restored store, say): search all of history.
            known = self._run(["cat-file", "-e", f"{check_sha(since)}^{{commit}}"],
                              None, None)[0] == 0
            revs, max_count = ([f"{since}..HEAD"] if known else ["HEAD"]), None
        for info in self._log(revs, max_count=max_count):
            if ("Docctl-Intent", intent_id) in info.trailers:
                return info.sha
        return None

    def commit_info(self, sha: str) -> CommitInfo:
        """Return what one commit says: author, time, message and trailers."""
        infos = self._log([check_sha(sha)], max_count=1, missing_ok=True)
        if not infos:
            raise StoreError("no such commit in the store", commit=sha)
        return infos[0]

    def history(self, *, path: str | None = None, max_count: int | None = None) -> list[CommitInfo]:
        """Return commits on main, newest first, optionally only those touching path."""
        return self._log(["HEAD"], path=None if path is None else check_path(path),
                         max_count=max_count)

    def tag_target(self, tag: str) -> str | None:
        """Return the commit a tag points to, or None when there is no such tag."""
        status, out, _ = self._run(
            ["rev-parse", "-q", "--verify", f"refs/tags/{check_tag(tag)}^{{commit}}"], None, None)
        return out.decode().strip() if status == 0 else None

    def tags(self) -> dict[str, str]:
        """Return every tag name with the commit it points to."""
        out = self._git("for-each-ref", "--format=%(refname:strip=2)%00%(*objectname)%00"
                        "%(objectname)", "refs/tags")
        result = {}
        for line in out.splitlines():
            name, peeled, direct = line.split("\0")
            result[name] = peeled or direct
        return result

    # -- plumbing --------------------------------------------------------------------------

    def _read_ref(self, name: str) -> str | None:
        return read_ref(self.git_dir, name)

    def _log(self, revs: list[str], *, path: str | None = None, max_count: int | None = None,
             missing_ok: bool = False) -> list[CommitInfo]:
        args = ["log", "-z", "--no-color", _LOG_FORMAT]
        if max_count is not None:
            if type(max_count) is not int or max_count < 1:
                raise ValidationError("max_count must be a positive integer")
            args.append(f"--max-count={max_count}")
        args += [*revs, "--"]
        if path is not None:
            args.append(path)
        status, out, err = self._run(args, None, None)
        if status != 0:
            if missing_ok:
                return []
            raise StoreError("git log failed", stderr=err.decode("utf-8", "replace")[-500:])
        fields = out.decode("utf-8", "replace").split("\0")
        infos = []
        for i in range(0, len(fields) - 4, 5):
            sha, name, email, stamp, message = fields[i:i + 5]
            infos.append(CommitInfo(
                sha=sha.strip(), subject=subject_of(message), message=message,
                author=Person(name, email),
                authored_at=datetime.fromtimestamp(int(stamp), UTC),
                trailers=tuple(parse_trailers(message))))
        return infos

    def _run(self, args: list[str], stdin: str | None, env: dict | None):
        """Run one git command; return (status, stdout bytes, stderr bytes)."""
        with contextlib.ExitStack() as stack:
            istream = None
            if stdin is not None:
                # GitPython needs a real file for stdin; user text never goes to argv.
                istream = stack.enter_context(tempfile.TemporaryFile())
                istream.write(stdin.encode("utf-8"))
                istream.seek(0)
            try:
                status, out, err = self._repo.git.execute(
                    [self._exe, *args], istream=istream, with_extended_output=True,
                    with_exceptions=False, stdout_as_string=False,
                    strip_newline_in_stdout=False, env={**self._env, **(env or {})})
            except git.GitCommandNotFound as exc:
                raise StoreError("git is not installed") from exc
        if isinstance(err, str):
            err = err.encode()
        return status, out, err

    def _git(self, *args: str, stdin: str | None = None, env: dict | None = None) -> str:
        """Run one git command that must succeed; return its stdout as text."""
        status, out, err = self._run(list(args), stdin, env)
        if status != 0:
            raise StoreError(f"git {args[0]} failed", status=status,
                             stderr=err.decode("utf-8", "replace")[-500:])
        return out.decode("utf-8", "replace")
