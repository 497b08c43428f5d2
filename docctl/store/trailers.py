"""Commit messages with git-style trailers that user text cannot forge."""

from __future__ import annotations

import re
import unicodedata

from docctl.errors import ValidationError

TRAILER_KEY_RE = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"
_KEY = re.compile(TRAILER_KEY_RE)
_LINE = re.compile(r"([A-Za-z][A-Za-z0-9-]{0,63}):(?: (.*))?")
# Bidi embeddings, overrides and isolates can make a value display as something else.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_break_or_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI


def clean_line(text: object, what: str = "text") -> str:
    """Return text as one NFC line: control, line-break and bidi characters become spaces."""
    if not isinstance(text, str):
        raise ValidationError(f"{what} must be text", value=repr(text)[:80])
    text = unicodedata.normalize("NFC", text)
    return "".join(" " if _is_break_or_control(ch) else ch for ch in text).strip()


def clean_body(text: object) -> str:
    """Return text as NFC lines with control characters replaced and outer blank lines removed."""
    if not isinstance(text, str):
        raise ValidationError("body must be text", value=repr(text)[:80])
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        line = "".join(" " if ch != "\t" and _is_break_or_control(ch) else ch for ch in line)
        lines.append(line.rstrip())
    # Two blank lines in a row carry nothing but would look like odd paragraphs in git tools.
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def clean_ident(name: object, email: object) -> tuple[str, str]:
    """Return a commit author's name and email, safe for git's "name <email>" line."""
    # Strip what git itself strips from both ends ("crud") so the stored author round-trips.
    crud = " .,:;<>\"\\'"
    name = clean_line(name, "author name").replace("<", "").replace(">", "").strip(crud)
    email = "".join(ch for ch in clean_line(email, "author email") if ch not in "<> ")
    if not name:
        raise ValidationError("author name is empty")
    return name, email.strip(crud)


def check_key(key: object) -> str:
    """Return key if it is an acceptable trailer key, else raise ValidationError."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise ValidationError("invalid trailer key", value=repr(key)[:80])
    return key


def _trailer_block(paragraph: list[str]) -> list[tuple[str, str]] | None:
    pairs = []
    for line in paragraph:
        match = _LINE.fullmatch(line)
        if match is None:
            return None
        pairs.append((match.group(1), (match.group(2) or "").strip()))
    return pairs


def _paragraphs(message: str) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in message.replace("\r\n", "\n").split("\n"):
        line = line.rstrip()
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def format_message(subject: str, body: str | None, trailers: list[tuple[str, str]]) -> str:
    """Build a commit message whose last paragraph holds exactly the given trailers."""
    subject_line = clean_line(subject, "subject")
    if not subject_line:
        raise ValidationError("commit subject is empty")
    cleaned = []
    for pair in trailers:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ValidationError("a trailer must be a (key, value) pair", value=repr(pair)[:80])
        cleaned.append((check_key(pair[0]), clean_line(pair[1], "trailer value")))
    parts = [subject_line]
    body_text = clean_body(body) if body is not None else ""
    if body_text:
        # Without our own trailer block the body's last paragraph would be read as trailers.
        if not cleaned and _trailer_block(_paragraphs(body_text)[-1]) is not None:
            raise ValidationError("body must not end with trailer-like lines")
        parts.append(body_text)
    if cleaned:
        parts.append("\n".join(f"{k}: {v}" if v else f"{k}:" for k, v in cleaned))
    return "\n\n".join(parts) + "\n"


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """Return the trailers of a message: its last paragraph, when every line is "Key: value"."""
    paragraphs = _paragraphs(message)
    # The subject paragraph never counts, or a subject like "Note: x" would become a trailer.
    if len(paragraphs) < 2:
        return []
    return _trailer_block(paragraphs[-1]) or []


def subject_of(message: str) -> str:
    """Return the first line of a message."""
    return message.split("\n", 1)[0].strip()
