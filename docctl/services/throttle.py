"""Sign-in throttling shared by every worker and every way in (R37, ASVS 5.0 6.3.1).

Failures are counted in fixed windows under three keys: the (account, address) pair, the
address across accounts, and the account across addresses. The pair and address limits stop
one address; the account ceiling bounds guesses from many addresses, after which only
addresses that signed in to that account before may still try (each within its pair limit).
So an attacker elsewhere cannot lock the user out, and a locked pair only hurts its address.
Counters live in the database (table login_counter), or in Redis when REDIS_URL is set
(the `limits` storage Flask-Limiter uses); the web form, the API token endpoint, the second
step and the e-signature password all count here.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from limits import parse
from sqlalchemy import case as sql_case
from sqlalchemy import delete, literal, select, update
from sqlalchemy.exc import IntegrityError

from docctl.domain.textfold import nfc
from docctl.errors import DocctlError
from docctl.extensions import db
from docctl.models import LoginCounter, UTCDateTime
from docctl.services import audit
from docctl.services.context import now, setting


class Throttled(DocctlError):
    """Too many failed sign-ins: wait before trying again."""

    status = 429
    code = "throttled"


@dataclass(frozen=True)
class Window:
    """A limit: at most `amount` failures per `seconds`."""

    amount: int
    seconds: int

    @classmethod
    def of(cls, text: str) -> "Window":
        item = parse(text)
        return cls(item.amount, item.get_expiry())


class DbCounters:
    """Fixed-window counters in the database, written in the caller's unit of work."""

    def incr(self, key: str, seconds: int) -> int:
        moment = now()
        until = literal(moment + timedelta(seconds=seconds), UTCDateTime())
        expired = LoginCounter.expires_at <= moment
        bump = update(LoginCounter).where(LoginCounter.key == key).values(
            count=sql_case((expired, 1), else_=LoginCounter.count + 1),
            expires_at=sql_case((expired, until), else_=LoginCounter.expires_at))
        if db.session.execute(bump).rowcount == 0:
            try:
                with db.session.begin_nested():
                    db.session.execute(delete(LoginCounter).where(
                        LoginCounter.expires_at < moment - timedelta(hours=1)))
                    db.session.add(LoginCounter(key=key, count=1, expires_at=moment + timedelta(
                        seconds=seconds)))
            except IntegrityError:     # another worker inserted it first
                db.session.execute(bump)
        return db.session.scalar(select(LoginCounter.count).where(LoginCounter.key == key))

    def get(self, key: str) -> tuple[int, float]:
        """Return the count in the current window and the seconds left in it."""
        row = db.session.execute(select(LoginCounter.count, LoginCounter.expires_at).where(
            LoginCounter.key == key, LoginCounter.expires_at > now())).first()
        if row is None:
            return 0, 0.0
        return row.count, (row.expires_at - now()).total_seconds()

    def clear(self, key: str) -> None:
        db.session.execute(delete(LoginCounter).where(LoginCounter.key == key))

    def clear_prefix(self, prefix: str) -> None:
        db.session.execute(delete(LoginCounter).where(
            LoginCounter.key.startswith(prefix, autoescape=True)))


class RedisCounters:
    """Fixed-window counters in Redis through the `limits` storage."""

    def __init__(self, url: str, prefix: str):
        from limits.storage import RedisStorage
        self.storage = RedisStorage(url, key_prefix=f"{prefix}-login")

    def incr(self, key: str, seconds: int) -> int:
        return self.storage.incr(key, seconds)

    def get(self, key: str) -> tuple[int, float]:
        count = self.storage.get(key)
        return count, (self.storage.get_expiry(key) - _epoch()) if count else 0.0

    def clear(self, key: str) -> None:
        self.storage.clear(key)

    def clear_prefix(self, prefix: str) -> None:
        connection = self.storage.get_connection()
        pattern = self.storage.prefixed_key(_glob_escape(prefix)) + "*"
        for name in connection.scan_iter(match=pattern, count=500):
            connection.delete(name)


def _epoch() -> float:
    import time
    return time.time()


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def counters():
    """Return the app's counter storage (Redis when configured, else the database)."""
    store = current_app.extensions.get("docctl.throttle")
    if store is None:
        url = current_app.config.get("REDIS_URL") or ""
        store = RedisCounters(url, current_app.config.get("REDIS_PREFIX") or "docctl") \
            if url else DbCounters()
        current_app.extensions["docctl.throttle"] = store
    return store


def address(given: str | None = None) -> str:
    """Return the client's address: the one given, else the socket's (never X-Forwarded-For)."""
    if given:
        return given[:64]
    if not has_request_context():
        return "local"
    return (request.remote_addr or "unknown")[:64]


def _account(username: str) -> str:
    return nfc(username or "").strip().lower()[:64]


def _keys(username: str, addr: str) -> dict[str, str]:
    account = _account(username)
    return {"pair": f"pair:{account}:{addr}", "address": f"addr:{addr}",
            "account": f"acct:{account}", "known": f"known:{account}:{addr}"}


def _windows() -> dict[str, Window]:
    return {"pair": Window.of(setting("LOGIN_LIMIT_PAIR")),
            "address": Window.of(setting("LOGIN_LIMIT_ADDRESS")),
            "account": Window.of(setting("LOGIN_LIMIT_ACCOUNT"))}


def check(username: str, addr: str | None = None) -> None:
    """Refuse an attempt for this account from this address while a limit is reached."""
    store, keys, windows = counters(), _keys(username, address(addr)), _windows()
    known = None
    for scope in ("pair", "address", "account"):
        count, left = store.get(keys[scope])
        if count < windows[scope].amount:
            continue
        if scope != "pair":
            # The address and account limits spare addresses this account signed in from.
            if known is None:
                known = store.get(keys["known"])[0] > 0
            if known:
                continue
        _refuse(max(1, math.ceil(left)))


def _refuse(seconds: int):
    if has_request_context():
        g.docctl_retry_after = seconds
    minutes = max(1, math.ceil(seconds / 60))
    raise Throttled(_l("Too many failed sign-in attempts. Try again in %(minutes)s minute(s).",
                       minutes=minutes), retry_after=seconds)


def failed(username: str, addr: str | None = None, *, step: str = "password") -> None:
    """Count a failed attempt (in the caller's unit of work); alert when a limit is hit."""
    store, addr = counters(), address(addr)
    keys, windows = _keys(username, addr), _windows()
    for scope, window in windows.items():
        count = store.incr(keys[scope], window.seconds)
        if count == window.amount:
            # Once per window and key: the security owner reads the audit trail and the log.
            details = {"username": _account(username), "address": addr, "scope": scope,
                       "failures": count, "step": step}
            audit.record("login_throttled", None, object_type="user", details=details)
            current_app.logger.warning(
                "security alert: sign-in throttled scope=%s account=%r address=%s failures=%d",
                scope, details["username"], addr, count)


def succeeded(username: str, addr: str | None = None) -> None:
    """Reset the pair's counter and remember the address as one this account uses."""
    store, keys = counters(), _keys(username, address(addr))
    store.clear(keys["pair"])
    store.clear(keys["known"])
    store.incr(keys["known"], int(setting("KNOWN_ADDRESS_DAYS")) * 86400)


def unlock(username: str) -> None:
    """Clear an account's ceiling and every pair counter (an administrator's action)."""
    store, account = counters(), _account(username)
    store.clear(f"acct:{account}")
    store.clear_prefix(f"pair:{account}:")
