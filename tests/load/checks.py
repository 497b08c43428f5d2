"""What must hold after an office's load: no 5xx, nothing half-done, index and audit agree."""

import time

from tests.load.harness import Office, OfficeLoad, Tally, marker


def check_after(office_: Office, load: OfficeLoad, audit_before: dict[str, int],
                settle_seconds: float = 20.0) -> list[str]:
    """Return what is wrong with the office after the load (empty when all holds)."""
    problems = []
    tally = load.tally
    if tally.count_5xx() or tally.dropped:
        problems.append(f"{tally.count_5xx()} answers were 5xx and {len(tally.dropped)} "
                        f"connections dropped, e.g.:")
        problems += [f"  {line}" for line in (tally.server_errors + tally.dropped)[:8]]
    problems += tally.refusals + tally.stuck
    expected_index = {}
    tags = office_.tags("QT-L")
    for code in load.codes:
        revisions = office_.revisions(code)
        # Half-done: git holds a tag the database has no published revision for, or not.
        in_db = {f"{code}/r{r['revision']}" for r in revisions
                 if r["status"] in ("effective", "superseded")}
        in_git = {tag for tag in tags if tag.startswith(f"{code}/")}
        if in_db != in_git:
            problems.append(f"{code}: git and the database disagree: only in git "
                            f"{sorted(in_git - in_db)}, only in the database "
                            f"{sorted(in_db - in_git)}")
        effective = [r for r in revisions if r["status"] == "effective"]
        # A refused approval may still be completed later by recovery: 0 or 1 then, never 2.
        if len(effective) > 1 or (not effective and tally.published.get(code)):
            problems.append(f"{code}: {len(effective)} effective revisions "
                            f"({[(r['revision'], r['status']) for r in revisions]})")
            continue
        if not effective:
            continue
        for number in tally.answered_ok.get(code, []):
            row = next(r for r in revisions if r["revision"] == number)
            if row["status"] not in ("effective", "superseded"):
                problems.append(f"{code} r{number}: approval answered 2xx, status "
                                f"{row['status']}")
        expected_index[code] = effective[0]["revision"]
    problems += _index_problems(office_, expected_index, settle_seconds)
    problems += _audit_problems(office_, tally, audit_before, settle_seconds)
    return problems


def _audit_problems(office_: Office, tally: Tally, before: dict[str, int],
                    settle: float) -> list[str]:
    """Wait up to `settle` s (reads may be recorded in batches) for an entry per 200 read."""
    deadline = time.monotonic() + settle
    while True:
        problems = []
        for kind, action in (("page", "viewed"), ("download", "download")):
            recorded = office_.audit_total(action) - before[action]
            if recorded < tally.ok(kind):
                problems.append(f"audit: {recorded} '{action}' entries for {tally.ok(kind)} "
                                f"{kind} requests answered 200")
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(1)


def _index_problems(office_: Office, expected: dict[str, int], settle: float) -> list[str]:
    """Wait up to `settle` s for the index to hold exactly each document's effective revision."""
    deadline = time.monotonic() + settle
    while True:
        problems = []
        for code, effective in expected.items():
            for number in range(1, effective + 1):
                found = [r for r in office_.search(marker(code, number)) if r["code"] == code]
                if number == effective and not any(r["revision"] == effective for r in found):
                    problems.append(f"index: {code} r{number} (effective) not found")
                if number != effective and found:
                    problems.append(f"index: {code} r{number} (superseded) still found among "
                                    f"the current revisions")
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(1)
