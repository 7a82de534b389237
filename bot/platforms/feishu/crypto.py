"""Feishu's callback security: the encrypted envelope and the request signature.

The Encrypt Key from the console is hashed with SHA-256 into an AES-256 key (it is not base64,
unlike WeCom and DingTalk); the envelope is ``{"encrypt": base64(iv || AES-CBC(PKCS#7(json)))}``.
The signature is ``sha256(timestamp + nonce + encrypt_key + raw body)`` in lower-case hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from bot.platforms.crypto import CryptoError, aes_cbc_decrypt, aes_cbc_encrypt

BLOCK = 16


def aes_key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode()).digest()


def decrypt(encrypt_key: str, envelope: str) -> bytes:
    """The plaintext of an ``encrypt`` field; :class:`CryptoError` for anything malformed."""
    try:
        raw = base64.b64decode(envelope, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("encrypt is not base64") from exc
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise CryptoError("encrypt has a truncated or partial block")
    return aes_cbc_decrypt(aes_key(encrypt_key), raw[:BLOCK], raw[BLOCK:])


def encrypt(encrypt_key: str, plaintext: bytes, iv: bytes | None = None) -> str:
    iv = os.urandom(BLOCK) if iv is None else iv
    return base64.b64encode(iv + aes_cbc_encrypt(aes_key(encrypt_key), iv, plaintext)).decode()


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()
