"""Crypto the platform protocols share: AES-CBC with strict PKCS#7, constant-time checks.

AES runs on OpenSSL through ``cryptography`` (every callback is decrypted: it costs a third of
what pycryptodome's cipher set-up does). The emulator seals with pycryptodome, so the tests
check this code against an implementation of its own.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class CryptoError(ValueError):
    """Ciphertext that does not decrypt, or padding that is not valid PKCS#7."""


def pkcs7_pad(data: bytes, block: int) -> bytes:
    size = block - len(data) % block
    return data + bytes([size]) * size


def pkcs7_unpad(data: bytes, block: int) -> bytes:
    """Remove padding, checking every pad byte (a lax unpad accepts forged ciphertext)."""
    if not data or len(data) % 16:
        raise CryptoError("ciphertext length is not a whole number of AES blocks")
    size = data[-1]
    if not 1 <= size <= block or size > len(data):
        raise CryptoError("invalid padding")
    if not hmac.compare_digest(data[-size:], bytes([size]) * size):
        raise CryptoError("invalid padding")
    return data[:-size]


def _cbc(key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    try:
        return Cipher(algorithms.AES(key), modes.CBC(iv))
    except ValueError as exc:  # a key or IV of the wrong size
        raise CryptoError(f"bad AES key or IV: {exc}") from exc


def aes_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes, block: int = 16) -> bytes:
    encryptor = _cbc(key, iv).encryptor()
    return encryptor.update(pkcs7_pad(plaintext, block)) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes, block: int = 16) -> bytes:
    if not ciphertext or len(ciphertext) % 16:
        raise CryptoError("ciphertext length is not a whole number of AES blocks")
    decryptor = _cbc(key, iv).decryptor()
    return pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize(), block)


def same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality for signatures and tokens (str compared as UTF-8)."""
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)
