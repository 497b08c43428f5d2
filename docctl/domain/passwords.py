"""Password policy rules (R38, ASVS 5.0 6.2): length, common and context-specific words.

The common list is docctl/data/common-passwords.txt (its header names the sources). It was made
from the zxcvbn package's ranked "passwords" list: the first 10,000 entries plus every entry of
10 or more characters, lowercased, after a hand-written block of Vietnamese favourites.
"""

import enum
import re
from functools import lru_cache
from pathlib import Path

from docctl.domain.textfold import fold, nfc

MIN_LENGTH = 12
MAX_LENGTH = 128
COMMON_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
DEMO_PASSWORD = "docctl-demo"
# Digits and symbols people append to a common word to pass a length rule ("matkhau123456").
_TAIL = re.compile(r"[\d\W_]+$")
_NOT_ALNUM = re.compile(r"[\W_]+")


class Rule(enum.Enum):
    """Why a password is refused."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    BLANK = "blank"
    REPEATED = "repeated"
    COMMON = "common"
    USERNAME = "username"
    ORG_NAME = "org_name"
    DEMO = "demo"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords, lowercased."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def _squash(text: str) -> str:
    """Fold diacritics and case, drop spaces and punctuation: "Sở KH&CN" → "sokhcn"."""
    return _NOT_ALNUM.sub("", fold(text))


def is_common(password: str) -> bool:
    """Tell whether a password is on the list, as typed or with digits/symbols appended."""
    words = common_passwords()
    lowered = password.lower()
    if lowered in words or lowered.strip() in words:
        return True
    core = _TAIL.sub("", lowered)
    return len(core) >= 4 and core != lowered and core in words


def refusal(password: str, *, username: str = "", org_name: str = "",
            allow_demo: bool = False) -> Rule | None:
    """Return the first rule a password breaks, or None when it is acceptable."""
    if not isinstance(password, str):
        return Rule.TOO_SHORT
    password = nfc(password)
    if not password.strip():
        return Rule.BLANK
    if len(password) > MAX_LENGTH:
        return Rule.TOO_LONG
    if password == DEMO_PASSWORD:
        return None if allow_demo else Rule.DEMO
    if len(password) < MIN_LENGTH:
        return Rule.TOO_SHORT
    if len(set(password.replace(" ", ""))) <= 2:
        return Rule.REPEATED          # "aaaaaaaaaaaa", "abababababab"
    squashed = _squash(password)
    name = _squash(username)
    if name and (squashed == name or (len(name) >= 4 and name in squashed)):
        return Rule.USERNAME
    org = _squash(org_name)
    if org and (org in squashed or (len(squashed) >= 8 and squashed in org)):
        return Rule.ORG_NAME
    if is_common(password) or (squashed and is_common(squashed)):
        return Rule.COMMON
    return None
