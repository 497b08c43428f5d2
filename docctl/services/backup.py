"""Take a consistent online backup: database, git store, secret key, settings, manifest."""

import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from docctl.errors import DocctlError
from docctl.extensions import db
from docctl.services.context import store
from docctl.store.locking import StoreLock

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.pgdump"
BUNDLE = "store.bundle"
KEY_FILE = "secret_key"
SETTINGS_FILE = "settings.json"
# Settings that are secret or name a machine-local path stay out of settings.json.
_PRIVATE_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")
# The commits a database references, read from the copy the backup holds.
REFERENCED_SQL = ("SELECT commit_sha FROM revision WHERE commit_sha IS NOT NULL UNION "
                  "SELECT commit_sha FROM intent WHERE state = 'done' AND commit_sha IS NOT NULL")
DB_HEAD_SQL = ("SELECT commit_sha FROM intent WHERE state = 'done' AND commit_sha IS NOT NULL "
               "ORDER BY finished_at DESC LIMIT 1")
COUNTS = ("document", "revision", "signature", "audit_event", "intent")


class BackupError(DocctlError):
    """The backup or restore could not be done; the message says why."""

    status = 500
    code = "backup_failed"


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git(*args: str, git_dir: Path | None = None, work_tree: Path | None = None,
        stdin: str | None = None) -> str:
    """Run git with no user or system config; return stdout or raise BackupError."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_TERMINAL_PROMPT": "0", "GIT_NO_REPLACE_OBJECTS": "1"}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                 "GIT_COMMON_DIR", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE"):
        env.pop(name, None)
    if git_dir is not None:
        env["GIT_DIR"] = str(git_dir)
    if work_tree is not None:
        env["GIT_WORK_TREE"] = str(work_tree)
    result = subprocess.run(["git", "-c", "core.autocrlf=false", *args], env=env, input=stdin,
                            cwd=work_tree, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"git {args[0]} failed: {result.stderr.strip()[-400:]}")
    return result.stdout


def pg_tool(name: str) -> str:
    """Return the path of pg_dump or pg_restore, or explain how to install it."""
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools "
                          "(Debian/Ubuntu: apt-get install postgresql-client) in the same "
                          "major version as the server or newer")
    return found


def pg_args(url) -> tuple[list[str], dict]:
    """Return libpq connection options for a SQLAlchemy URL; the password goes in the env."""
    args = ["-h", url.host or "localhost", "-p", str(url.port or 5432)]
    if url.username:
        args += ["-U", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args + ["-d", url.database], env


def check_empty_target(dest: Path) -> None:
    """Refuse a destination that exists and is not an empty directory."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} is not empty: a backup goes into a new or empty directory, "
                          "so that it never mixes with or overwrites another one")


def create(dest, progress=lambda _line: None) -> dict:
    """Write a backup into dest (new or empty) while the server may be running."""
    dest = Path(dest).resolve()
    check_empty_target(dest)
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    gitstore = store()
    kind = db.engine.url.get_backend_name()
    if kind not in ("sqlite", "postgresql"):
        raise BackupError(f"backing up a {kind} database is not supported")
    progress(f"backup into {dest}")
    started = time.monotonic()
    # Hold the writer lock only while git's refs and the database snapshot are taken: git is
    # written before the database, so every commit the snapshot references is in these refs,
    # and every commit in them has its intent in the snapshot (finished on restore).
    with StoreLock(gitstore.path, gitstore.lock_timeout):
        refs = _read_refs(gitstore.git_dir)
        source = _sqlite_snapshot() if kind == "sqlite" else None
        snapshot = _pg_snapshot() if kind == "postgresql" else None
        if source is not None and not source.in_transaction:
            # Rollback journal: no snapshot outlives a read lock, so copy under the lock.
            progress("database: SQLite online backup ...")
            db_file = _sqlite_backup(source, dest / SQLITE_FILE)
            source = None
    try:
        if source is not None:
            progress("database: SQLite online backup of the snapshot ...")
            db_file = _sqlite_backup(source, dest / SQLITE_FILE)
        if snapshot is not None:
            progress("database: pg_dump (custom format) of the snapshot ...")
            db_file = _pg_dump(dest / PG_FILE, snapshot)
        facts = _database_facts(kind, dest / db_file, snapshot)
    finally:
        if source is not None:
            source.close()
        if snapshot is not None:
            snapshot[0].close()
    progress(f"git store: bundle of {len(refs)} ref(s) as of the database snapshot ...")
    _bundle(gitstore.git_dir, refs, dest / BUNDLE, facts.pop("referenced"))
    progress("secret key and settings ...")
    key_path = dest / KEY_FILE
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(current_app.config["SECRET_KEY"])
    (dest / SETTINGS_FILE).write_text(json.dumps(_settings(), ensure_ascii=False, indent=2,
                                                 sort_keys=True) + "\n")
    files = [db_file, BUNDLE, KEY_FILE, SETTINGS_FILE]
    manifest = {
        "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "docctl_version": _version(), "python": platform.python_version(),
        "git_version": git("--version").strip(),
        "database": {"kind": kind, "file": db_file, **facts},
        "git": {"file": BUNDLE, "head": refs.get("refs/heads/main"), "refs": refs},
        "files": {name: {"sha256": sha256_file(dest / name), "size": (dest / name).stat().st_size}
                  for name in files},
    }
    # Written last, through a rename: a backup without its manifest is visibly unfinished.
    partial = dest / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    os.replace(partial, dest / MANIFEST)
    progress(f"done in {time.monotonic() - started:.1f} s: database head "
             f"{(facts['db_head'] or 'none')[:12]}, git head "
             f"{(manifest['git']['head'] or 'none')[:12]}, {len(files) + 1} files")
    return manifest


def _read_refs(git_dir: Path) -> dict[str, str]:
    out = git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags",
              git_dir=git_dir)
    refs = {}
    for line in out.splitlines():
        sha, name = line.split(" ", 1)
        refs[name] = sha
    return refs


def _sqlite_snapshot() -> sqlite3.Connection:
    """Open the live database; in WAL mode, hold a read snapshot (writers go on meanwhile)."""
    source = sqlite3.connect(db.engine.url.database, timeout=30, isolation_level=None)
    if source.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()   # pins the snapshot
    return source


def _sqlite_backup(source: sqlite3.Connection, target: Path) -> str:
    """Copy the database with SQLite's online backup API, in one step, then close the source."""
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)             # pages=-1: one step, within the source's snapshot
        copy.execute("PRAGMA journal_mode=DELETE")   # a single self-contained file
        copy.commit()
    finally:
        copy.close()
        source.close()
    os.chmod(target, 0o600)
    return target.name


def _pg_snapshot():
    """Open a REPEATABLE READ transaction and export its snapshot for pg_dump."""
    connection = db.engine.connect().execution_options(isolation_level="REPEATABLE READ")
    connection.begin()
    snapshot_id = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
    return connection, snapshot_id


def _pg_dump(target: Path, snapshot) -> str:
    args, env = pg_args(db.engine.url)
    result = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-password",
                             f"--snapshot={snapshot[1]}", "--file", str(target), *args],
                            env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[-400:]}")
    os.chmod(target, 0o600)
    return target.name


def _database_facts(kind: str, copy: Path, snapshot) -> dict:
    """Read the version, newest change and row counts of exactly what was backed up."""
    if kind == "sqlite":
        connection = sqlite3.connect(copy)
        try:
            facts = _facts(lambda sql: connection.execute(sql).fetchone(),
                           lambda sql: connection.execute(sql).fetchall())
        finally:
            connection.close()
        return facts
    connection = snapshot[0]
    return _facts(lambda sql: connection.execute(text(sql)).fetchone(),
                  lambda sql: connection.execute(text(sql)).fetchall())


def _facts(one, rows) -> dict:
    revision = one("SELECT version_num FROM alembic_version")
    head = one(DB_HEAD_SQL)
    return {"alembic_revision": revision[0] if revision else None,
            "db_head": head[0] if head else None,
            "counts": {table: one(f"SELECT count(*) FROM {table}")[0]  # noqa: S608 (constants)
                       for table in COUNTS},
            "referenced": sorted({row[0] for row in rows(REFERENCED_SQL)})}


def _bundle(git_dir: Path, refs: dict[str, str], target: Path, referenced: list[str]) -> None:
    """Bundle exactly the refs read under the lock, and check it holds every referenced commit."""
    with tempfile.TemporaryDirectory(prefix="docctl-backup-") as tmp:
        scratch = Path(tmp) / "store.git"
        git("init", "-q", "--bare", "--template=", str(scratch))
        # Borrow the live store's objects: nothing is copied twice, nothing written there.
        (scratch / "objects" / "info").mkdir(parents=True, exist_ok=True)
        (scratch / "objects" / "info" / "alternates").write_text(
            str(git_dir / "objects") + "\n")
        git("update-ref", "--stdin", git_dir=scratch, stdin="".join(
            f"create {name} {sha}\n" for name, sha in sorted(refs.items())))
        reachable = set(git("rev-list", "--all", git_dir=scratch).split())
        lost = [sha for sha in referenced if sha not in reachable]
        if lost:
            raise BackupError(f"the database references {len(lost)} commit(s) the git store "
                              f"does not have (first {lost[0][:12]}); run docctl verify")
        git("bundle", "create", "-q", str(target), "--all", git_dir=scratch)
        git("bundle", "verify", "-q", str(target), git_dir=scratch)
    os.chmod(target, 0o600)


def _settings() -> dict:
    """Return the non-secret DOCCTL_* settings, to re-create the environment after a restore."""
    environment = {}
    for name, value in sorted(os.environ.items()):
        if not name.startswith("DOCCTL_"):
            continue
        if any(word in name for word in _PRIVATE_WORDS):
            continue
        if name == "DOCCTL_DATABASE_URL":
            from sqlalchemy.engine import make_url
            value = make_url(value).render_as_string(hide_password=True)
        environment[name] = value
    config = current_app.config
    return {"environment": environment,
            "settings": {name: config[name] for name in (
                "ORG_NAME", "TIMEZONE", "DEFAULT_LOCALE", "LANGUAGES", "MAX_UPLOAD_MB",
                "SEARCH_BACKEND", "COOKIE_SECURE", "PORT") if name in config},
            "database_url": db.engine.url.render_as_string(hide_password=True)}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("docctl")
    except PackageNotFoundError:
        import tomllib
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]
