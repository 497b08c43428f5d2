"""An office working at once on the real server (gunicorn, 2 workers), on both databases.

Readers open document pages and the register, search and download controlled copies while
publishers drive several documents upload → approve, each approval sent twice at once (a
double click). Nothing may answer 5xx, no approval may be left half-done, and afterwards the
register, git, the search index and the audit trail must all agree.
"""

import os
import socket

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL
from tests.load.checks import check_after
from tests.load.harness import Office, OfficeLoad, pg_url_with_schema, print_line

# Bounded: clients and seconds per database; the env knobs let a bigger machine push harder.
READERS = int(os.environ.get("DOCCTL_LOAD_READERS", "24"))
PUBLISHERS = int(os.environ.get("DOCCTL_LOAD_PUBLISHERS", "4"))
SECONDS = float(os.environ.get("DOCCTL_LOAD_SECONDS", "30"))

pytestmark = pytest.mark.load   # `make test` runs this file in one xdist worker (loadfile)


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def office_database(request):
    """Return the server's database URL: SQLite in the data folder, or a fresh PG schema."""
    if request.param == "sqlite":
        yield None
        return
    if not _pg_reachable():
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432: its office load is not run")
    schema = f"docctl_load_{os.getpid()}"
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_url_with_schema(PG_URL, schema)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_an_office_at_once_gets_no_5xx_and_leaves_everything_agreeing(tmp_path,
                                                                      office_database):
    label = "PostgreSQL" if office_database else "SQLite"
    with Office(tmp_path, office_database) as office:
        before = {action: office.audit_total(action) for action in ("viewed", "download")}
        load = OfficeLoad(office, readers=READERS, publishers=PUBLISHERS, seconds=SECONDS)
        tally = load.run()
        print_line(label, tally.summary())
        problems = check_after(office, load, before)
        log = office.log_errors()
    verified = office.verify()
    if verified.returncode != 0:
        problems.append(f"docctl verify exit {verified.returncode}: "
                        f"{(verified.stdout + verified.stderr)[-1500:]}")
    approved = sum(len(v) for v in tally.published.values())
    refused = sum(len(v) for v in tally.refused.values())
    assert tally.ok("page") and tally.ok("download") and tally.ok("search") and approved, (
        f"{label}: the load did not exercise every kind of request: {tally.summary()}")
    assert not problems, (
        f"{label}: {tally.count_5xx()} answers 5xx, {len(tally.dropped)} dropped, "
        f"{approved} revisions published, {refused} approvals refused, of "
        f"{tally.total()} requests:\n" + "\n".join(problems[:30])
        + f"\n{tally.summary()}\nerrors in the server log:\n{log}")
