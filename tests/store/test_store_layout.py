import pytest

from docctl.errors import ValidationError
from docctl.store.layout import check_sha, document_dir, record_dir, revision_tag

BAD = ["../x", "-x", "QT/../../etc", "a.lock", "a\x00b", "", ".git", "a..b", "x.", "a b",
       "Đ-01", "a\nb", "x" * 65, "a/b", "a*", "a[1]", "a:b", "a~1", "a^", "@{x}", None, 3]


def test_paths_and_tags():
    assert document_dir("QT", "QT-01") == "documents/QT/QT-01"
    assert record_dir(2026, "HS-000123") == "records/2026/0001/HS-000123"
    assert record_dir(2026, "HS-2026-000099") == "records/2026/0000/HS-2026-000099"
    assert revision_tag("QT-01", 3) == "QT-01/r3"


@pytest.mark.parametrize("bad", BAD)
def test_bad_segments_are_rejected(bad):
    with pytest.raises(ValidationError):
        document_dir(bad, "QT-01")
    with pytest.raises(ValidationError):
        document_dir("QT", bad)
    with pytest.raises(ValidationError):
        record_dir(2026, bad)
    with pytest.raises(ValidationError):
        revision_tag(bad, 1)


@pytest.mark.parametrize("year", [True, 99, 10000, "2026", 2026.0])
def test_bad_years(year):
    with pytest.raises(ValidationError):
        record_dir(year, "HS-1")


@pytest.mark.parametrize("number", [0, -1, True, "3", 1.0])
def test_bad_revision_numbers(number):
    with pytest.raises(ValidationError):
        revision_tag("QT-01", number)


@pytest.mark.parametrize("sha", ["HEAD", "-x", "A" * 40, "a" * 39, "a" * 40 + "\n", None])
def test_bad_shas(sha):
    with pytest.raises(ValidationError):
        check_sha(sha)
