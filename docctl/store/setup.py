"""Attach the git store to a Flask app."""

from docctl.store.gitstore import GitStore


def init_app(app) -> None:
    """Open (creating if needed) the app's git store."""
    store = GitStore.init(app.config["REPO_STORE"])
    # The writer-lock wait is one of the in-request limits that must end before the worker's.
    store.lock_timeout = float(app.config.get("STORE_LOCK_TIMEOUT", store.lock_timeout))
    app.extensions["docctl.store"] = store
