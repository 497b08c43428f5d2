"""Normalise and fold Vietnamese text; validate document codes."""

import re
import unicodedata

# Bidi overrides/isolates and zero-width characters make a code look like another one.
_INVISIBLE = set("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                 "\u2066\u2067\u2068\u2069\ufeff")

CODE_MAX = 40
_CODE_RE = re.compile(r"^[^\W_]+(?:[._-][^\W_]+)*$")


def nfc(text: str | None) -> str:
    """Return the NFC form of text, trimmed; None becomes ''."""
    if text is None:
        return ""
    return unicodedata.normalize("NFC", text).strip()


def has_control_chars(text: str) -> bool:
    """Tell whether text holds control, bidi or zero-width characters."""
    return any(
        ch in _INVISIBLE or (unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n")
        for ch in text
    )


def clean_line(text: str | None, *, max_len: int = 300) -> str:
    """Return a single-line NFC string with control characters removed."""
    value = nfc(text)
    value = "".join(" " if ch in "\r\n\t" else ch for ch in value)
    value = "".join(ch for ch in value if not has_control_chars(ch))
    return " ".join(value.split())[:max_len]


def fold(text: str) -> str:
    """Fold diacritics away (đ→d too) and lowercase, for matching."""
    decomposed = unicodedata.normalize("NFD", nfc(text))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    # đ/Đ are letters of their own, not d + a combining mark: NFD leaves them alone.
    return stripped.replace("đ", "d").replace("Đ", "D").lower()


def is_valid_code(code: str) -> bool:
    """Tell whether a document code passes the allowlist."""
    if not code or len(code) > CODE_MAX or has_control_chars(code):
        return False
    if not all(ch.isascii() or unicodedata.category(ch).startswith("L") for ch in code):
        return False
    return bool(_CODE_RE.match(code))


_CODE_SPACES = "\u00a0\u2007\u202f"
_CODE_SEPARATORS = re.compile(r"[\s._\-/]+")


def clean_code(code: str | None) -> str:
    """Return a code as typed, NFC, with stray (and non-breaking) spaces trimmed."""
    value = nfc(code)
    for space in _CODE_SPACES:
        value = value.replace(space, " ")
    return value.strip()


def code_key(code: str | None) -> str:
    """Return the matching key of a code: folded, separators dropped (QT-01, qt 01 → qt01)."""
    return _CODE_SEPARATORS.sub("", fold(clean_code(code)))


def normalise_code(code: str | None) -> str:
    """Return the code in canonical form: NFC, trimmed, upper case."""
    return nfc(code).upper()


def code_slug(code: str) -> str:
    """Return the ASCII path segment for a code (Đ→D, diacritics dropped)."""
    decomposed = unicodedata.normalize("NFD", nfc(code))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = stripped.replace("đ", "d").replace("Đ", "D").upper()
    return re.sub(r"[^A-Z0-9._-]", "-", stripped)
