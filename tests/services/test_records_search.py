"""Records search: Vietnamese words with or without diacritics, own scope, purged on disposal."""

from datetime import UTC, datetime
from pathlib import Path

from docctl.services import dispositions, records_search, scheduler
from tests.helpers import PASSWORD, docx_bytes, make_user
from tests.services.test_records import file_one
from tests.services.test_records import world as world  # noqa: F401 (fixture)


def test_records_are_found_with_or_without_diacritics_by_those_who_may_see_them(
        app, db, users, world):
    first = file_one(users, data=docx_bytes("Biên nhận hồ sơ đăng ký khai sinh", "BM-05-a"))
    second = file_one(users, data=docx_bytes("Phiếu kiểm soát quá trình giải quyết", "BM-05-a"))
    # the scheduler's pass applies the filings' index jobs
    assert scheduler.run_pass(tidy=False, deep=False, due=False)["record_index_jobs"] == 2
    for q in ("khai sinh", "khai sinh", "KHAI SINH", "đăng ký khai", "dang ky khai"):
        rows, total = records_search.search(users["staff"], q)
        assert [r.id for r in rows] == [first.id] and total == 1
    rows, _ = records_search.search(users["auditor"], "kiem soat qua trinh")
    assert [r.id for r in rows] == [second.id]
    assert records_search.search(users["staff"], first.slug)[0][0].id == first.id
    outsider = make_user("staff_qlkh", "staff")
    outsider.department_id = 2
    db.session.commit()
    assert records_search.search(outsider, "khai sinh") == ([], 0)
    assert records_search.search(users["staff"], "không có từ này") == ([], 0)


def test_a_disposed_record_leaves_the_index(app, db, users, world):
    record = file_one(users, data=docx_bytes("Hồ sơ Zyxwvutsrq duy nhất", "BM-05-a"))
    records_search.apply_jobs()
    assert records_search.search(users["staff"], "zyxwvutsrq")[1] == 1
    world.moment = datetime(2036, 3, 11, 3, 0, tzinfo=UTC)
    listed = dispositions.propose(users["controller"], [record.id], "Hết hạn")
    dispositions.approve(users["approver"], listed.id, PASSWORD)
    assert records_search.apply_jobs() == 1
    assert records_search.search(users["staff"], "zyxwvutsrq") == ([], 0)
    raw = b"".join(p.read_bytes() for p in Path(records_search.index_path()).rglob("*")
                   if p.is_file())
    assert b"zyxwvutsrq" not in raw
    assert records_search.reindex() == 0
