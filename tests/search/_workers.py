"""Code run in child processes by the concurrency test (importable under spawn)."""

import random
import time
import traceback


def publish_and_apply(data_dir: str, database_url: str, engine_options: dict, backend: str,
                      codes: list[str], results) -> None:
    """Approve the awaiting revision of each code, applying index jobs after each."""
    from config import TestingConfig
    from docctl import create_app
    from docctl.errors import Conflict
    from docctl.extensions import db
    from docctl.models import Document, User
    from docctl.services import indexing, publishing
    from docctl.services.context import today
    from tests.helpers import PASSWORD

    class Settings(TestingConfig):
        DATA_DIR = data_dir
        DATABASE_URL = database_url

    try:
        app = create_app(Settings, RATELIMIT_ENABLED=False, SEARCH_BACKEND=backend,
                         SQLALCHEMY_ENGINE_OPTIONS=engine_options)
        with app.app_context():
            approver = db.session.scalar(db.select(User).where(User.username == "approver"))
            applied = 0
            for code in codes:
                document = db.session.scalar(db.select(Document).where(Document.code == code))
                number = document.revisions[-1].number
                for _attempt in range(50):
                    try:
                        publishing.approve(approver, code, number, password=PASSWORD,
                                           effective_date=today())
                        break
                    except Conflict:   # the other process moved the store's head: retry
                        db.session.rollback()
                        time.sleep(random.uniform(0.01, 0.1))
                applied += indexing.apply_pending_jobs()
            for _round in range(3):
                applied += indexing.apply_pending_jobs()
            app.extensions["docctl.store"].close()
        results.put(("ok", applied))
    except BaseException:
        results.put(("error", traceback.format_exc()))
