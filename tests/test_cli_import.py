"""`docctl import [--dry-run] [--json] DIR` as a script runs it: exit codes, JSON, a crash."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.agency import agency_rows, write_agency

ROOT = Path(__file__).resolve().parent.parent
DOCCTL = [sys.executable, "-c", "from docctl.cli import main; main()"]
PASSWORD = "a long enough import password"


def run(data: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DOCCTL_DATA_DIR": str(data), **(env or {})}
    environment.pop("DOCCTL_DATABASE_URL", None)
    return subprocess.run([*DOCCTL, *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=300)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def instance(tmp_path):
    """A fresh agency instance (no demo): one department, one secretary."""
    data = tmp_path / "data"
    ok(run(data, "init"))
    ok(run(data, "create-department", "VP", "Văn phòng"))
    ok(run(data, "create-user", "--username", "thuky", "--name", "Thư ký ISO",
           "--role", "controller", "--department", "VP", "--password", PASSWORD))
    return data


def git(data: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(data / "repo_store"), *args], capture_output=True,
                          text=True, check=True).stdout


def test_dry_run_json_exit_0_and_changes_nothing(instance, tmp_path):
    folder = write_agency(tmp_path / "agency")
    head = git(instance, "rev-parse", "HEAD")
    result = ok(run(instance, "import", "--dry-run", "--json", str(folder)))
    rows = json.loads(result.stdout)
    assert {tuple(sorted(r)) for r in rows} == {("action", "amendment", "code",
                                                 "effective_date", "file", "issue",
                                                 "message", "row")}
    qt = next(r for r in rows if r["code"] == "QT-01")
    assert (qt["action"], qt["issue"], qt["amendment"], qt["effective_date"]) == \
        ("import", 3, 1, "2026-01-26")
    assert len(rows) == 7 and {r["action"] for r in rows} == {"import"}
    assert git(instance, "rev-parse", "HEAD") == head


def test_dry_run_exit_1_when_a_row_is_refused(instance, tmp_path):
    rows = agency_rows()
    rows[1][7] = "31/02/2026"
    folder = write_agency(tmp_path / "agency", rows)
    result = run(instance, "import", "--dry-run", "--json", str(folder))
    assert result.returncode == 1, result.stderr
    refused = [r for r in json.loads(result.stdout) if r["action"] == "error"]
    # The organisation's language (Vietnamese by default) outside a request.
    assert refused[0]["code"] == "QT-01" and "Không đọc được ngày" in refused[0]["message"]
    # The table form says the same in words.
    table = run(instance, "import", "--dry-run", str(folder))
    assert table.returncode == 1 and "refused" in table.stdout
    assert "Traceback" not in table.stderr


def test_import_then_rerun_changes_nothing(instance, tmp_path):
    folder = write_agency(tmp_path / "agency")
    result = ok(run(instance, "import", "--json", str(folder)))
    assert {r["action"] for r in json.loads(result.stdout)} == {"import"}
    log = git(instance, "log", "--format=%s")
    assert log.count(": import ") == 7
    head = git(instance, "rev-parse", "HEAD")
    again = ok(run(instance, "import", "--json", str(folder)))
    assert {r["action"] for r in json.loads(again.stdout)} == {"skip"}
    assert git(instance, "rev-parse", "HEAD") == head
    assert "OK" in ok(run(instance, "verify")).stdout


def test_killed_after_a_commit_the_next_run_finishes(instance, tmp_path):
    folder = write_agency(tmp_path / "agency")
    crashed = run(instance, "import", str(folder),
                  env={"DOCCTL_FAULT_POINTS": "publish.after_commit"})
    assert crashed.returncode != 0
    assert git(instance, "log", "--format=%s").count(": import ") == 1
    result = ok(run(instance, "import", "--json", str(folder)))
    actions = [r["action"] for r in json.loads(result.stdout)]
    # The first document's commit was finished by recovery: skipped, the rest imported.
    assert actions.count("skip") == 1 and actions.count("import") == 6
    assert git(instance, "log", "--format=%s").count(": import ") == 7


def test_missing_folder_is_a_clear_error(instance, tmp_path):
    result = run(instance, "import", "--dry-run", str(tmp_path / "nope"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
