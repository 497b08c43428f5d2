"""Settings; every one can be overridden by a DOCCTL_<NAME> environment variable."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _data_paths(data_dir: str | None) -> dict:
    """Return where the git store, database and index live."""
    if data_dir:
        root = Path(data_dir).resolve()
        return {"REPO_STORE": str(root / "repo_store"),
                "DATABASE_URL": f"sqlite:///{root / 'docctl.sqlite'}",
                "INDEX_DIR": str(root / "index"),
                "INSTANCE_DIR": str(root)}
    instance = BASE_DIR / "instance"
    return {"REPO_STORE": str(BASE_DIR / "repo_store"),
            "DATABASE_URL": f"sqlite:///{instance / 'docctl.sqlite'}",
            "INDEX_DIR": str(instance / "index"),
            "INSTANCE_DIR": str(instance)}


class Config:
    """Defaults for the embedded set-up (SQLite + local git + local index)."""

    DATA_DIR = None
    SECRET_KEY = None            # read from instance/secret_key, created on first start
    ORG_NAME = "Sở Khoa học và Công nghệ tỉnh Mẫu"
    TIMEZONE = "Asia/Ho_Chi_Minh"
    DEFAULT_LOCALE = "vi"
    LANGUAGES = ("vi", "en")
    PORT = 5000
    MAX_UPLOAD_MB = 20
    MAX_DOCX_ENTRIES = 2000
    MAX_DOCX_UNCOMPRESSED_MB = 200
    PAGE_SIZE = 50
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    TOKEN_DAYS = 30
    LOGIN_RATE_LIMIT = "100/hour"
    RATELIMIT_STORAGE_URI = "memory://"
    STORE_LOCK_TIMEOUT = 30.0
    SEARCH_BACKEND = "whoosh"    # "tantivy" for large registers (a province's agencies)
    SEARCH_PAGE_SIZE = 20
    SOFFICE_PATH = ""            # LibreOffice's soffice for PDF copies; empty: look on PATH
    PDF_TIMEOUT = 60.0           # seconds one PDF conversion may take
    COOKIE_SECURE = False        # set True behind HTTPS
    TESTING = False
    WTF_CSRF_ENABLED = True

    def __init__(self):
        data = _data_paths(os.environ.get("DOCCTL_DATA_DIR") or self.DATA_DIR)
        for key, value in data.items():
            if getattr(self, key, None) is None:
                setattr(self, key, value)
        self._apply_env()

    REPO_STORE = None
    DATABASE_URL = None
    INDEX_DIR = None
    INSTANCE_DIR = None

    def _apply_env(self):
        for name in dir(self):
            if not name.isupper():
                continue
            raw = os.environ.get(f"DOCCTL_{name}")
            if raw is None:
                continue
            current = getattr(self, name)
            if isinstance(current, bool):
                value = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float):
                value = float(raw)
            elif isinstance(current, tuple):
                value = tuple(part.strip() for part in raw.split(",") if part.strip())
            else:
                value = raw
            setattr(self, name, value)

    def as_flask(self) -> dict:
        """Return the settings as a Flask config mapping."""
        values = {name: getattr(self, name) for name in dir(self) if name.isupper()}
        instance = Path(values["INSTANCE_DIR"])
        values["SECRET_KEY_UNSAVED"] = None
        if not values["SECRET_KEY"]:
            values["SECRET_KEY"], values["SECRET_KEY_UNSAVED"] = _secret_key(instance)
        values.update(
            SQLALCHEMY_DATABASE_URI=values["DATABASE_URL"],
            SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
            MAX_CONTENT_LENGTH=(values["MAX_UPLOAD_MB"] + 1) * 1024 * 1024,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=values["COOKIE_SECURE"],
            SESSION_COOKIE_NAME="__Host-docctl" if values["COOKIE_SECURE"] else "docctl",
            REMEMBER_COOKIE_DURATION=0,
            BABEL_DEFAULT_LOCALE=values["DEFAULT_LOCALE"],
            BABEL_DEFAULT_TIMEZONE=values["TIMEZONE"],
            BABEL_TRANSLATION_DIRECTORIES=str(BASE_DIR / "docctl" / "translations"),
            RATELIMIT_STORAGE_URI=values["RATELIMIT_STORAGE_URI"],
            WTF_CSRF_TIME_LIMIT=None,
        )
        return values


def _secret_key(instance: Path) -> tuple[str, str | None]:
    """Return the instance secret key, and its path when it is new and not yet saved.

    A new key is only saved once start-up has checked that no signature needs the old one
    (docctl.services.secretkey), so a lost key file is refused instead of silently replaced.
    """
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip(), None
    return secrets.token_hex(32), str(path)


def save_secret_key(path: str, key: str) -> str:
    """Write a new key file (owner-only); return the key that is on disk afterwards."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another worker starting at the same moment saved its key first: use that one.
        return target.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


class TestingConfig(Config):
    """Settings for the test suite: everything in a temporary data directory."""

    __test__ = False   # not a pytest test class, despite its name

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    """Settings behind HTTPS."""

    COOKIE_SECURE = True
