"""Restore a backup into an empty data folder (and an empty database), checking it first."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from docctl.services.backup import (
    BUNDLE,
    FORMAT,
    KEY_FILE,
    MANIFEST,
    BackupError,
    git,
    pg_args,
    pg_tool,
    sha256_file,
)


def check_backup(src: Path) -> dict:
    """Return the manifest once every file it lists is present with its recorded hash."""
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{src} has no {MANIFEST}: not a docctl backup, or an unfinished "
                          "one") from None
    except ValueError:
        raise BackupError(f"{src / MANIFEST} is damaged (not valid JSON)") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not one this docctl "
                          f"reads (it reads format {FORMAT})")
    for name, expected in sorted(manifest.get("files", {}).items()):
        path = src / name
        if Path(name).name != name or not path.is_file():
            raise BackupError(f"the backup is damaged: {name} is missing")
        if path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
            raise BackupError(f"the backup is damaged: {name} does not match the SHA-256 "
                              "recorded in the manifest")
    for name in (manifest["database"]["file"], BUNDLE, KEY_FILE):
        if name not in manifest.get("files", {}):
            raise BackupError(f"the backup is damaged: the manifest does not list {name}")
    return manifest


def check_targets(settings, manifest: dict) -> None:
    """Refuse a data folder or database that already holds something."""
    data_dir = os.environ.get("DOCCTL_DATA_DIR")
    if not data_dir:
        raise BackupError("set DOCCTL_DATA_DIR to the empty folder to restore into")
    root = Path(data_dir)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise BackupError(f"DOCCTL_DATA_DIR {root} is not empty: restore only into an empty "
                          "folder, so nothing of another instance is mixed in or overwritten")
    for path in (Path(settings.REPO_STORE), Path(settings.INSTANCE_DIR) / "secret_key"):
        if path.exists():
            raise BackupError(f"{path} already exists: restore only into an empty instance")
    url = make_url(settings.DATABASE_URL)
    kind = manifest["database"]["kind"]
    if url.get_backend_name() != kind:
        raise BackupError(f"the backup holds a {kind} database but DOCCTL_DATABASE_URL is "
                          f"{url.get_backend_name()}: restore into the same kind of database")
    if kind == "sqlite":
        if url.database and Path(url.database).exists():
            raise BackupError(f"the database file {url.database} already exists")
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"the database {url.database} is not empty ({len(tables)} table(s), "
                          f"e.g. {tables[0]}): restore only into an empty database")


def restore(src, settings, progress=lambda _line: None) -> dict:
    """Check the backup and the targets, then restore database, git store and secret key."""
    src = Path(src).resolve()
    progress(f"checking {src} ...")
    manifest = check_backup(src)
    check_targets(settings, manifest)
    root = Path(os.environ["DOCCTL_DATA_DIR"])
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = manifest["database"]
    url = make_url(settings.DATABASE_URL)
    progress(f"database ({database['kind']}, schema {database.get('alembic_revision')}) ...")
    if database["kind"] == "sqlite":
        target = Path(url.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / database["file"], target)
        os.chmod(target, 0o600)
    else:
        _pg_restore(src / database["file"], url)
    progress("git store ...")
    _restore_store(src / BUNDLE, Path(settings.REPO_STORE), manifest["git"])
    progress("secret key ...")
    instance = Path(settings.INSTANCE_DIR)
    instance.mkdir(parents=True, exist_ok=True)
    key = instance / "secret_key"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write((src / KEY_FILE).read_text().strip())
    return manifest


def _pg_restore(dump: Path, url) -> None:
    args, env = pg_args(url)
    result = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--no-privileges",
                             "--no-password", "--exit-on-error", "--single-transaction",
                             *args, str(dump)], env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[-400:]}")


def _restore_store(bundle: Path, store: Path, facts: dict) -> None:
    """Fetch the bundle's refs into a new repository and check out main."""
    store.mkdir(parents=True, exist_ok=True)
    git_dir = store / ".git"
    git("init", "-q", "--template=", "-b", "main", str(store))
    git("fetch", "-q", "--no-tags", "--update-head-ok", str(bundle),
        "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", git_dir=git_dir)
    git("reset", "-q", "--hard", "refs/heads/main", git_dir=git_dir, work_tree=store)
    refs = {}
    for line in git("for-each-ref", "--format=%(objectname) %(refname)", git_dir=git_dir
                    ).splitlines():
        sha, name = line.split(" ", 1)
        refs[name] = sha
    if refs != facts["refs"]:
        raise BackupError("the restored git store's refs differ from the manifest's")
