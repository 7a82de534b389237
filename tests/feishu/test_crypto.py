"""Feishu's envelope and signature against the published and the research's own vectors."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.platforms.crypto import CryptoError
from bot.platforms.feishu import crypto

GO_SDK_ENCRYPT = (
    "bZ3L7yh6m3Fkuffl4g+3uGjIHnhOm5fVZbKVuyT8t7tcd5ABMYm8l28/X900ZL3knZ7n+sCREu/H2WnIzft0amC7+xW"
    "qNH8o25IU63N4BnZWfHh+4hyG76QPd19vkw2bPJCx9aqxK8Nz+xqFNbk0RdgyWhmgd30jSxHtcQXAllkI7FMpGpOCteJ"
    "ad3bLXPDBQIV/xkCtKICCS7Z63gakpxZCLaRZ3qCXP1fapHh+LBIupxenrU6ysc7I3nHmjmKie41IiWwS5puG4zQHhVb"
    "q6KWLcgWm/3NBZOPQy53ucMu75SXA55I7jarVLZXWUcqBGrcgE3vouWbtwgZuzmoTQl0GSh5VYSVvpW992BuGxUWj0Xj"
    "PYdICJm6Cr7xouNXwMcdb7N8caVdkdSZeEnswG19qSyDoQhklwzNGW0yiaayulBqJNjfge/G5V3401c2XaIuAeEIo+QQ"
    "4RSNpRGfnHkbu/j55FGQAGWjpuBNaIwZbaUoVP3NkGP+vM5rpEDe3sL2GN+Xsd+g9yBs7FqdMV8mXTGgLjCqjrPrke5/"
    "km76Q3Pe6KPs2YexMRG4MkSx3xUTzZnNn7zIzShPcjeSwBd2pxk6ht5N+fzueZdxl6Oo="
)
GO_SDK_PLAINTEXT = (
    '{"schema":"2.0","header":{"event_id":"f7984f25108f8137722bb63cee927e66","event_type":'
    '"contact.user.created_v3","app_id":"cli_xxxxxxxx","tenant_key":"xxxxxxx","create_time":'
    '"1603977298000000","token":"v"},"event":{"object":{"open_id":"ou_7dab8a3d3cdcc9da365777c7ad'
    '535d62","union_id":"on_576833b917gda3d939b9a3c2d53e72c8","user_id":"e33ggbyz","name":"张三",'
    '"employee_no":"employee_no"}},"challenge":"1212","type":"url_verification"}'
)
OWN_ENCRYPT = (
    "AAECAwQFBgcICQoLDA0OD/pXnuQjbBOjuCGc9CaoydhrmhJPFb/HVRvdR3Xe4bcGNqrF78aGQCXghQcDbSJ+cLdSajyN"
    "yvJwDVvvJKkkFXL5i9W21EkrucuIVqSw7sGasV2RqerB5sg4tY7tL3PqaA=="
)
OWN_PLAINTEXT = (
    b'{"challenge":"ajls384kdjx98XX","token":"test-verification-token","type":"url_verification"}'
)


def test_published_docs_vector() -> None:
    assert crypto.decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == (
        b"hello world"
    )


def test_go_sdk_vector_with_non_ascii() -> None:
    assert crypto.decrypt("1212121212", GO_SDK_ENCRYPT).decode() == GO_SDK_PLAINTEXT


def test_research_vector_encrypts_deterministically() -> None:
    key = "test-encrypt-key"
    assert crypto.aes_key(key).hex() == (
        "b473453eeddffb75f5d344bebd9533757c9b38fd1778c613cd04dfcb35f56957"
    )
    assert crypto.encrypt(key, OWN_PLAINTEXT, iv=bytes(range(16))) == OWN_ENCRYPT
    assert crypto.decrypt(key, OWN_ENCRYPT) == OWN_PLAINTEXT


def test_research_signature_vector() -> None:
    body = ('{"encrypt":"' + OWN_ENCRYPT + '"}').encode()
    assert crypto.signature("1700000000", "nonce-abc", "test-encrypt-key", body) == (
        "6710e573925f08e9f493e44470f4c8d391b854239a9b221acddf919742740ff4"
    )


@pytest.mark.parametrize(
    "envelope",
    [
        "not base64 at all!",
        base64.b64encode(bytes(16)).decode(),  # only an IV
        OWN_ENCRYPT[:-24] + "==",  # truncated mid-block
        base64.b64encode(bytes(40)).decode(),  # not a whole number of blocks
        "",
    ],
)
def test_malformed_envelopes_raise(envelope: str) -> None:
    with pytest.raises(CryptoError):
        crypto.decrypt("test-encrypt-key", envelope)


def test_wrong_key_fails_padding_check() -> None:
    with pytest.raises(CryptoError):
        crypto.decrypt("another key", OWN_ENCRYPT)


@given(st.binary(max_size=300), st.text(min_size=1, max_size=40))
def test_round_trip(plaintext: bytes, key: str) -> None:
    assert crypto.decrypt(key, crypto.encrypt(key, plaintext)) == plaintext
