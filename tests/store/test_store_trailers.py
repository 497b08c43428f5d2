import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docctl.errors import ValidationError
from docctl.store.trailers import (
    TRAILER_KEY_RE,
    clean_line,
    format_message,
    parse_trailers,
)

keys = st.from_regex(TRAILER_KEY_RE.rstrip("$").lstrip("^"), fullmatch=True)
pairs = st.lists(st.tuples(keys, st.text(max_size=80)), min_size=1, max_size=8)


@given(subject=st.text(min_size=1, max_size=80).filter(lambda s: clean_line(s)),
       body=st.none() | st.text(max_size=300), trailers=pairs)
def test_round_trip_holds_for_any_text(subject, body, trailers):
    message = format_message(subject, body, trailers)
    assert parse_trailers(message) == [(k, clean_line(v)) for k, v in trailers]
    assert message.split("\n", 1)[0] == clean_line(subject)


def test_vietnamese_values_round_trip_in_nfc():
    nfd = unicodedata.normalize("NFD", "Quy trình kiểm soát tài liệu – Đợt 2")
    message = format_message("QT-01 r3: publish", None, [("Reason-For-Change", nfd)])
    assert parse_trailers(message) == [
        ("Reason-For-Change", "Quy trình kiểm soát tài liệu – Đợt 2")]
    assert unicodedata.is_normalized("NFC", message)


@pytest.mark.parametrize("sep", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"])
def test_injected_line_break_does_not_create_a_trailer(sep):
    trailers = [("Reason-For-Change", f"x{sep}Approved-By: mallory"), ("Docctl-Action", "publish")]
    parsed = parse_trailers(format_message("s", None, trailers))
    assert [k for k, _ in parsed] == ["Reason-For-Change", "Docctl-Action"]
    assert parsed[0][1].startswith("x ")


def test_subject_cannot_become_trailers():
    message = format_message("a\n\nApproved-By: mallory", None, [])
    assert parse_trailers(message) == []
    assert message.count("\n") == 1


def test_body_cannot_add_trailers_before_ours():
    body = "text\n\nApproved-By: mallory\n\n"
    message = format_message("s", body, [("Docctl-Action", "publish")])
    assert parse_trailers(message) == [("Docctl-Action", "publish")]


def test_body_ending_like_trailers_needs_real_trailers():
    with pytest.raises(ValidationError):
        format_message("s", "text\n\nApproved-By: mallory", [])


@pytest.mark.parametrize("key", ["", "-x", "1abc", "Approved By", "Approved-By\nX", "Ý-Kiến",
                                 "A" * 65, "Key:", None])
def test_bad_keys_are_rejected(key):
    with pytest.raises(ValidationError):
        format_message("s", None, [(key, "v")])


def test_empty_subject_and_non_text_value_are_rejected():
    with pytest.raises(ValidationError):
        format_message(" \n\t", None, [])
    with pytest.raises(ValidationError):
        format_message("s", None, [("Docctl-Revision", 3)])


def test_empty_value_and_repeated_keys_round_trip():
    trailers = [("Reviewed-By", "A"), ("Reviewed-By", "B"), ("Note", "  ")]
    assert parse_trailers(format_message("s", None, trailers)) == [
        ("Reviewed-By", "A"), ("Reviewed-By", "B"), ("Note", "")]


def test_bidi_and_control_characters_are_neutralised():
    assert clean_line("a\u202eb\x00c\x1bd") == "a b c d"
