"""Seal a record's content with its own key (AES-256-GCM); the only `cryptography` user.

Git keeps only sealed bytes; the key lives in the database. Destroying the key makes the
content unrecoverable without touching a commit (crypto-shredding). GCM, not Fernet: it
authenticates without a base64 layer (no 33 % growth per record) and binds the sealed bytes to
the record they belong to (associated data), so one record's blob cannot pass for another's.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"DCR1"          # docctl sealed record, format 1
NONCE_BYTES = 12
KEY_BYTES = 32


class SealError(Exception):
    """Sealed bytes that do not open with this key: altered, or another record's."""


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def seal(key: bytes, data: bytes, bound_to: bytes) -> bytes:
    """Return data sealed with key, bound to `bound_to` (e.g. the record's number)."""
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, bytes(data), bound_to)


def unseal(key: bytes, blob: bytes, bound_to: bytes) -> bytes:
    """Return the content of sealed bytes; SealError if they do not open."""
    if len(key) != KEY_BYTES or not blob.startswith(MAGIC) or \
            len(blob) < len(MAGIC) + NONCE_BYTES + 16:
        raise SealError("not sealed bytes of this format")
    nonce = blob[len(MAGIC):len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES:], bound_to)
    except InvalidTag:
        raise SealError("sealed bytes altered, or sealed for another record") from None
