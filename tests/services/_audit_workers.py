"""Code run in child processes by the audit concurrency test (importable under spawn)."""

import traceback


def append_rounds(app, label: str, rounds: int) -> None:
    """Append like a busy worker: a page view (GET) and a change (POST) per round."""
    from sqlalchemy import func, select

    from docctl.extensions import db
    from docctl.models import AuditEvent
    from docctl.services import audit

    with app.app_context():
        for i in range(rounds):
            with app.test_request_context(f"/probe/{label}", method="GET"):
                # The page reads first, so its transaction is a snapshot taken before the
                # other appenders' entries.
                db.session.scalar(select(func.count(AuditEvent.seq)))
                audit.record_reading("viewed", None, object_type="probe",
                                     object_id=f"{label}-read-{i}")
            with app.test_request_context(f"/probe/{label}", method="POST"):
                audit.record("probe_changed", None, object_type="probe",
                             object_id=f"{label}-write-{i}")
                db.session.commit()
            db.session.remove()


def append_entries(data_dir: str, database_url: str, engine_options: dict, label: str,
                   rounds: int, results) -> None:
    """Record a page view and a change per round, as a separate worker process would."""
    from config import TestingConfig
    from docctl import create_app
    from docctl.extensions import db

    class Settings(TestingConfig):
        DATA_DIR = data_dir
        DATABASE_URL = database_url

    try:
        app = create_app(Settings, RATELIMIT_ENABLED=False,
                         SQLALCHEMY_ENGINE_OPTIONS=engine_options)
        append_rounds(app, label, rounds)
        with app.app_context():
            db.engine.dispose()
        results.put(("ok", label))
    except Exception:   # noqa: BLE001 (sent back to the test)
        results.put(("error", traceback.format_exc()))
