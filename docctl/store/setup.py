"""Attach the git store to a Flask app."""

from docctl.store.gitstore import GitStore


def init_app(app) -> None:
    """Open (creating if needed) the app's git store."""
    app.extensions["docctl.store"] = GitStore.init(app.config["REPO_STORE"])
