"""Twelve people download the same procedure and open its page at once: no 5xx, all recorded."""

import os

import pytest

from tests.conftest import _pg_available
from tests.web import office_load

CLIENTS, ROUNDS = 12, 8


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_an_office_at_once_gets_no_5xx_and_every_read_is_in_the_trail(database, tmp_path):
    if database == "postgresql" and not _pg_available():
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    schema = f"docctl_office_{os.getpid()}"
    with (office_load.pg_schema(schema) if database == "postgresql"
          else office_load.nothing()) as url:
        env = office_load.environment(tmp_path / "data", url)
        office_load.init_demo(env)
        before = office_load.trail(env)
        with office_load.serving(env, tmp_path / "server.log") as server:
            result = office_load.office(server, clients=CLIENTS, rounds=ROUNDS, deadline_s=90)
        after = office_load.trail(env)

    assert result["failures"] == [] and result["errors_5xx"] == 0, result
    assert result["ok"] == {"download": CLIENTS * ROUNDS, "view": CLIENTS * ROUNDS}, result
    recorded = {action: after["counts"].get(action, 0) - before["counts"].get(action, 0)
                for action in ("download", "viewed")}
    assert recorded == {"download": CLIENTS * ROUNDS, "viewed": CLIENTS * ROUNDS}
    assert after["broken"] == []
    assert after["max"] - after["min"] + 1 == after["total"]   # seqs contiguous
