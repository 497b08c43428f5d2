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
    # Failed sign-ins, counted in the database (or Redis when REDIS_URL is set) for every
    # worker and way in: per account and address, per address, per account (R37).
    LOGIN_LIMIT_PAIR = "10 per 15 minutes"
    LOGIN_LIMIT_ADDRESS = "50 per hour"
    LOGIN_LIMIT_ACCOUNT = "100 per hour"
    KNOWN_ADDRESS_DAYS = 90      # an address that signed in stays usable past the account cap
    REDIS_URL = ""               # e.g. redis://127.0.0.1:6379/0; empty: the database
    REDIS_PREFIX = "docctl"      # key prefix, so several instances can share one Redis
    MFA_REQUIRED_ROLES = ()      # e.g. "admin,controller,approver": two-step sign-in required
    RATELIMIT_STORAGE_URI = "memory://"
    # Limits inside one request; each must end before gunicorn's worker timeout (check_limits).
    WORKER_TIMEOUT = 60          # seconds gunicorn lets a worker spend on one request
    GRACEFUL_TIMEOUT = 30        # seconds a stopping worker may finish its request
    STORE_LOCK_TIMEOUT = 10.0    # wait for the git store's writer lock
    BODY_DRAIN_SECONDS = 20.0    # reading an over-limit upload to the end, to answer 413
    # Seconds a request waits for the database's write lock (SQLite busy timeout, PostgreSQL
    # lock_timeout) before answering 503; well under the worker timeout (check_limits).
    DB_BUSY_TIMEOUT = 10.0
    # PostgreSQL connection pool per process (a sync gunicorn worker serves one request at once).
    DB_POOL_SIZE = 5
    DB_MAX_OVERFLOW = 5
    DB_POOL_RECYCLE = 1800       # seconds; below the usual server/firewall idle cut-offs
    DB_POOL_TIMEOUT = 10.0       # seconds to wait for a free pooled connection
    SEARCH_BACKEND = "whoosh"    # "tantivy" for large registers (a province's agencies)
    SEARCH_PAGE_SIZE = 20
    SOFFICE_PATH = ""            # LibreOffice's soffice for PDF copies; empty: look on PATH
    PDF_TIMEOUT = 25.0           # seconds one PDF conversion may take (with its queue wait)
    CONVERT_TIMEOUT = 25.0       # seconds one .doc → .docx conversion may take on upload
    MAX_PDF_PAGES = 1000         # a longer uploaded PDF is refused
    UPLOAD_PARSE_SECONDS = 20.0  # checking an uploaded PDF stops (refused) after this long
    PDF_TEXT_SECONDS = 20.0      # reading a PDF's text stops (kept, partly searchable) after this
    COOKIE_SECURE = False        # set True behind HTTPS
    SCHEDULER = False            # `docctl serve` turns on the housekeeping scheduler
    FAULT_POINTS = ()            # crash points for recovery tests (docctl/faults.py); never set
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
        check_limits(values)
        instance = Path(values["INSTANCE_DIR"])
        values["SECRET_KEY_UNSAVED"] = None
        if not values["SECRET_KEY"]:
            values["SECRET_KEY"], values["SECRET_KEY_UNSAVED"] = _secret_key(instance)
        values.update(
            SQLALCHEMY_DATABASE_URI=values["DATABASE_URL"],
            SQLALCHEMY_ENGINE_OPTIONS=_engine_options(values),
            MAX_CONTENT_LENGTH=(values["MAX_UPLOAD_MB"] + 1) * 1024 * 1024,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=values["COOKIE_SECURE"],
            SESSION_COOKIE_NAME="__Host-docctl" if values["COOKIE_SECURE"] else "docctl",
            REMEMBER_COOKIE_DURATION=0,
            BABEL_DEFAULT_LOCALE=values["DEFAULT_LOCALE"],
            BABEL_DEFAULT_TIMEZONE=values["TIMEZONE"],
            BABEL_TRANSLATION_DIRECTORIES=str(BASE_DIR / "docctl" / "translations"),
            RATELIMIT_STORAGE_URI=values["REDIS_URL"] or values["RATELIMIT_STORAGE_URI"],
            WTF_CSRF_TIME_LIMIT=None,
        )
        return values


def _engine_options(values: dict) -> dict:
    """Return the engine options: a sized, recycled pool on PostgreSQL.

    The SQLite pragmas are set by docctl.dbengine on every connection, whatever the options.
    """
    options = {"pool_pre_ping": True}
    if str(values["DATABASE_URL"]).startswith("postgresql"):
        options.update(pool_size=values["DB_POOL_SIZE"], max_overflow=values["DB_MAX_OVERFLOW"],
                       pool_recycle=values["DB_POOL_RECYCLE"],
                       pool_timeout=values["DB_POOL_TIMEOUT"])
    return options


class LimitsError(ValueError):
    """The configured time limits do not fit inside the worker timeout."""


# Margin left between the longest wait inside a request and the worker timeout, for the work
# done after the wait (writing the response, the audit entry) and for the error page itself.
LIMIT_MARGIN = 5.0
# Waits a request may make, with the value used when a setting is not defined.
_IN_REQUEST = (("PDF_TIMEOUT", 25.0), ("STORE_LOCK_TIMEOUT", 10.0), ("DB_BUSY_TIMEOUT", 5.0),
               ("SEARCH_LOCK_TIMEOUT", 15.0), ("BODY_DRAIN_SECONDS", 20.0),
               ("CONVERT_TIMEOUT", 25.0), ("UPLOAD_PARSE_SECONDS", 20.0))


def check_limits(values: dict) -> None:
    """Refuse settings where a wait inside a request could outlast the worker timeout."""
    worker = float(values.get("WORKER_TIMEOUT") or 0)
    problems = []
    if worker <= LIMIT_MARGIN:
        problems.append(f"DOCCTL_WORKER_TIMEOUT={worker:g} must be more than "
                        f"{LIMIT_MARGIN:g} s")
    for name, default in _IN_REQUEST:
        raw = values.get(name)
        limit = float(default if raw is None else raw)
        if limit <= 0 or limit + LIMIT_MARGIN > worker:
            problems.append(f"DOCCTL_{name}={limit:g} must be above 0 and at most "
                            f"DOCCTL_WORKER_TIMEOUT - {LIMIT_MARGIN:g} = "
                            f"{worker - LIMIT_MARGIN:g} s")
    if problems:
        raise LimitsError(
            "docctl refuses to start: a request could wait longer than gunicorn lets a worker "
            "live, and the user would get a bare error while the work kept running. Fix: "
            + "; ".join(problems))


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
    MFA_REQUIRED_ROLES = ("admin", "controller", "approver")   # R39: privileged roles, L2
