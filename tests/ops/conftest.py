"""Real instances for the operations tests: one built per database kind, copied per test."""

import pytest

from tests.ops.instances import Databases, build, clone, pg_available, pg_skip_reason


@pytest.fixture(scope="module")
def databases():
    made = Databases()
    yield made
    made.drop_all()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def template(request, databases, tmp_path_factory):
    """Build one instance per database kind; each test works on its own copy."""
    if request.param == "postgresql":
        # Modules that never back up PostgreSQL need only the server, not pg_dump.
        reason = (pg_skip_reason() if getattr(request.module, "NEEDS_PG_DUMP", True)
                  else None if pg_available() else "PostgreSQL not reachable on 127.0.0.1:5432")
        if reason:
            pytest.skip(reason)
    return build(tmp_path_factory.mktemp(request.param), request.param, databases)


@pytest.fixture
def live(template, databases, tmp_path):
    return clone(template, tmp_path / "live", databases)
