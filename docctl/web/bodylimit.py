"""Answer an over-limit upload with 413 after reading its body, so the client sees the answer."""

from __future__ import annotations

import io
import tempfile
import time

from flask import abort, request
from werkzeug.wsgi import LimitedStream

CHUNK = 256 * 1024
SPOOL = 1024 * 1024
TOO_LARGE = "docctl.body_too_large"


def _drain(stream, remaining: int | None, deadline: float) -> None:
    """Read and drop up to `remaining` bytes (None: to the end) until the deadline."""
    while time.monotonic() < deadline and (remaining is None or remaining > 0):
        size = CHUNK if remaining is None else min(CHUNK, remaining)
        try:
            chunk = stream.read(size)
        except (OSError, ValueError):   # the client gave up or the stream is broken
            return
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)


def _buffer(stream, limit: int, deadline: float):
    """Read a body of unknown length (chunked) up to the limit; None if it goes past it."""
    # Spooled: in memory while small, else an already-unlinked temporary file.
    buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (closed by caller)
    size = 0
    while time.monotonic() < deadline:
        try:
            chunk = stream.read(min(CHUNK, limit + 1 - size))
        except (OSError, ValueError):
            break
        if not chunk:
            buffer.seek(0)
            return buffer, size
        size += len(chunk)
        if size > limit:
            break
        buffer.write(chunk)
    buffer.close()
    return None, size


class BodyLimit:
    """WSGI middleware: a body over MAX_CONTENT_LENGTH is read to the end, then refused."""

    def __init__(self, app, flask_app):
        self.app = app
        self.flask_app = flask_app

    def __call__(self, environ, start_response):
        config = self.flask_app.config
        limit = config.get("MAX_CONTENT_LENGTH")
        drain_seconds = float(config.get("BODY_DRAIN_SECONDS", 20.0))
        length = environ.get("CONTENT_LENGTH") or ""
        stream = environ.get("wsgi.input")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if limit:
            if length.isdigit() and int(length) > limit and stream is not None:
                # Closing with the body unread makes the kernel reset the connection, and the
                # client never sees the 413: read it (bounded in time) and answer from Flask.
                _drain(stream, int(length), time.monotonic() + drain_seconds)
                environ[TOO_LARGE] = True
                environ["wsgi.input"] = io.BytesIO()
                environ["CONTENT_LENGTH"] = "0"
            elif not length and stream is not None and chunked:
                deadline = time.monotonic() + drain_seconds
                spooled, size = _buffer(stream, limit, deadline)
                if spooled is None:
                    _drain(stream, None, deadline)
                    environ[TOO_LARGE] = True
                    spooled, size = io.BytesIO(), 0
                environ["wsgi.input"] = spooled
                environ["CONTENT_LENGTH"] = str(size)
        limited = None
        if limit and stream is not None and length.isdigit() and not environ.get(TOO_LARGE):
            # Count what the app reads, so what is left can be read after it answers; past
            # the length it reads EOF (a dev server's raw socket would block instead).
            limited = environ["wsgi.input"] = LimitedStream(stream, int(length))
        try:
            result = self.app(environ, start_response)
        finally:
            if environ.get("wsgi.input") not in (stream, limited):
                environ["wsgi.input"].close()
        if limited is not None:
            # The app may answer without reading a body within the limit (a redirect to sign
            # in, a refusal): read what is left so the answer is not lost in a reset.
            _drain(limited, None, time.monotonic() + drain_seconds)
        return result


def init_app(app) -> None:
    """Install the middleware and the hook that turns its mark into a translated 413."""
    app.wsgi_app = BodyLimit(app.wsgi_app, app)

    def refuse_drained_body():
        if request.environ.get(TOO_LARGE):
            abort(413)

    # First, before anything reads the (now empty) body or the session acts on the request.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_drained_body)
