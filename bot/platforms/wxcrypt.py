"""The WXBizMsgCrypt callback scheme shared by WeCom callbacks and DingTalk HTTP events.

Signature: SHA1 hex of the sorted, concatenated (token, timestamp, nonce, ciphertext).
Ciphertext: base64 of AES-256-CBC, key = b64decode(EncodingAESKey + "="), IV = key[:16], over
``random16 || len(msg) as 4 bytes big-endian || msg || receive_id`` padded PKCS#7 to 32 bytes.
The length counts UTF-8 bytes, and decryption insists on our receive id (WeCom: the CorpID;
DingTalk: the AppKey), so a payload encrypted for another app is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct

from bot.platforms.crypto import CryptoError, aes_cbc_decrypt, aes_cbc_encrypt, same

BLOCK = 32
_PREFIX = 16
_LENGTH = struct.Struct(">I")


class WXCryptError(ValueError):
    """A callback that fails verification or decryption (the reason is safe to log)."""


class SignatureError(WXCryptError):
    """The signature does not match: not from the platform, or not for our token."""


class ReceiveIdError(WXCryptError):
    """The payload decrypts, but was encrypted for another corp or app."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    joined = "".join(sorted((token, timestamp, nonce, encrypted)))
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()  # the platform's choice


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key from the console's 43-character EncodingAESKey."""
    if len(encoding_aes_key) != 43:
        raise WXCryptError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise WXCryptError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise WXCryptError("EncodingAESKey does not decode to 32 bytes")  # pragma: no cover
    return key


class WXBizMsgCrypt:
    """Verify, decrypt and encrypt callbacks for one (token, EncodingAESKey, receive id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.receive_id = receive_id
        self._key = aes_key(encoding_aes_key)
        self._receive_id = receive_id.encode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if not same(self.sign(timestamp, nonce, encrypted), msg_signature.lower()):
            raise SignatureError("signature mismatch")

    def decrypt(self, encrypted: str) -> str:
        try:
            ciphertext = base64.b64decode(encrypted, validate=True)
            plain = aes_cbc_decrypt(self._key, self._key[:16], ciphertext, BLOCK)
        except (binascii.Error, CryptoError):
            raise WXCryptError("ciphertext does not decrypt with our key") from None
        if len(plain) < _PREFIX + _LENGTH.size:
            raise WXCryptError("plaintext too short")
        (length,) = _LENGTH.unpack_from(plain, _PREFIX)
        start = _PREFIX + _LENGTH.size
        if start + length > len(plain):
            raise WXCryptError("length field exceeds the plaintext")
        if not same(plain[start + length :], self._receive_id):
            raise ReceiveIdError("receive id mismatch")
        try:
            return plain[start : start + length].decode("utf-8")
        except UnicodeDecodeError:
            raise WXCryptError("message is not UTF-8") from None

    def open(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        """Verify then decrypt: the plaintext of an authentic callback."""
        self.verify(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        prefix = os.urandom(_PREFIX) if random16 is None else random16
        if len(prefix) != _PREFIX:
            raise ValueError("the random prefix is 16 bytes")
        body = message.encode()
        plain = prefix + _LENGTH.pack(len(body)) + body + self._receive_id
        ciphertext = aes_cbc_encrypt(self._key, self._key[:16], plain, BLOCK)
        return base64.b64encode(ciphertext).decode()

    def seal(
        self, message: str, timestamp: str, nonce: str, random16: bytes | None = None
    ) -> tuple[str, str]:
        """Encrypt and sign a reply: ``(encrypted, msg_signature)``."""
        encrypted = self.encrypt(message, random16)
        return encrypted, self.sign(timestamp, nonce, encrypted)
