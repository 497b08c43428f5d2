"""docctl: document control for ISO 9001 quality management systems."""

from pathlib import Path

from flask import Flask

BASE_DIR = Path(__file__).resolve().parent.parent


def create_app(config=None, **overrides) -> Flask:
    """Build the application: settings, extensions, store, blueprints."""
    from config import Config

    app = Flask(__name__, template_folder=str(BASE_DIR / "templates"),
                static_folder=str(BASE_DIR / "static"), instance_relative_config=False)
    settings = config() if isinstance(config, type) else (config or Config())
    app.config.update(settings.as_flask())
    app.config.update(overrides)

    from docctl import dbengine, extensions
    from docctl.store import setup as store_setup
    from docctl.web import register_web

    extensions.db.init_app(app)
    dbengine.init_app(app, extensions.db)
    extensions.migrate.init_app(app, extensions.db,
                                directory=str(BASE_DIR / "migrations"))
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    from docctl.services import secretkey
    secretkey.check_at_start(app)   # never start with a key the signatures do not know
    store_setup.init_app(app)
    register_web(app)

    from docctl.cli import register_cli

    register_cli(app)
    return app
