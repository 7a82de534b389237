"""The shared WXBizMsgCrypt scheme against the published vectors (research notes §1.8, §4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.platforms.wxcrypt import (
    ReceiveIdError,
    SignatureError,
    WXBizMsgCrypt,
    WXCryptError,
    aes_key,
    signature,
)

W1 = WXBizMsgCrypt(
    "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "ww1436e0e65a779aee",
)
W1_ECHOSTR = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
)
W1_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTk"
    "AgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQb"
    "Z9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2"
    "qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbv"
    "L6aSDPOYuPDGOCI8jmnKiypE+"
)
W1_XML = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)

W2 = WXBizMsgCrypt("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
W2_ECHOSTR = (
    "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
)
W2_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrs"
    "TyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+"
    "BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7v"
    "XUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dSh"
    "yqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
W2_XML = (
    "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n"
    "<FromUserName><![CDATA[messense]]></FromUserName>\n<CreateTime>1411525903</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<MsgId>4363689963896700987</MsgId>\n<AgentID>1</AgentID>\n</xml>"
)
W2_REPLY = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
    "<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
    "<CreateTime>1411525903</CreateTime>\n</xml>"
)
W2_REPLY_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBq"
    "GsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFh"
    "HZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05"
    "UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3W"
    "eK2XeFYFMNMpatF9XiKzHo3"
)


def test_w1_url_verification() -> None:
    sig = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert W1.open(sig, "1476416373", "47744683", W1_ECHOSTR) == "1288432023552776189"


def test_w1_message_with_chinese_body() -> None:
    sig = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
    assert W1.open(sig, "1476422779", "1597212914", W1_ENCRYPT) == W1_XML


def test_w2_url_verification_and_a_changed_nonce_fails() -> None:
    sig = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
    assert W2.open(sig, "1411443780", "437374425", W2_ECHOSTR) == "5927782489442352469"
    with pytest.raises(SignatureError):
        W2.open(sig, "1411443780", "437374424", W2_ECHOSTR)


def test_w2_message() -> None:
    sig = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
    assert W2.open(sig, "1411525903", "461056294", W2_ENCRYPT) == W2_XML


def test_w2_deterministic_encryption_byte_for_byte() -> None:
    encrypted, sig = W2.seal(W2_REPLY, "1411525903", "461056294", b"1234567890123456")
    assert encrypted == W2_REPLY_ENCRYPT
    assert sig == "407518b7649e86ef23978113f92d27afa9296533"


def test_dingtalk_vectors_use_the_same_scheme() -> None:
    d1 = WXBizMsgCrypt(
        "123456", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij", "suite4xxxxxxxxxxxxxxx"
    )
    encrypted = (
        "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRW"
        "VdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgn"
        "NOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ=="
    )
    sig = "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0"
    plain = d1.open(sig, "1445827045067", "nEXhMP4r", encrypted)
    assert plain.startswith('{"EventType":"check_create_suite_url"')
    d2 = WXBizMsgCrypt(
        "mryue", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "ding6ccabc44d2c8d38b"
    )
    reply, sig = d2.seal("success", "1608001896814", "WL4PK6yA", b"abcdefghijklmnop")
    assert reply == (
        "QjFVo6WtpzPr7RoyTeB2RiaR3xB2mMl8rk8y7ok0+3p4lanNu72WYgTGf2dCORsQrs6Yz+FV+5t9cYo8A/nGsg=="
    )
    assert sig == "c74e45295bc530971a7185949972e375b18c3f30"


def test_signature_sorts_plain_strings() -> None:
    assert signature("b", "a", "c", "d") == signature("a", "b", "d", "c")


def test_wrong_key_is_refused() -> None:
    other = WXBizMsgCrypt(W1.token, "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", W1.receive_id)
    with pytest.raises(WXCryptError):
        other.decrypt(W1_ENCRYPT)


def test_wrong_receive_id_is_refused() -> None:
    other = WXBizMsgCrypt(W1.token, "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "wwSomeoneElse")
    with pytest.raises(ReceiveIdError):
        other.decrypt(W1_ENCRYPT)


@pytest.mark.parametrize(
    "encrypted",
    [W1_ENCRYPT[:-24] + "==", W1_ENCRYPT[:64], "", "not base64!", "QUJD"],
    ids=["truncated-block", "short", "empty", "not-base64", "not-a-block"],
)
def test_damaged_ciphertext_is_refused(encrypted: str) -> None:
    with pytest.raises(WXCryptError):
        W1.decrypt(encrypted)


@pytest.mark.parametrize("key", ["short", "!" * 43, "a" * 44])
def test_bad_encoding_aes_key_is_refused(key: str) -> None:
    with pytest.raises(WXCryptError):
        aes_key(key)


@given(st.text(max_size=300), st.binary(min_size=16, max_size=16))
def test_round_trip(message: str, prefix: bytes) -> None:
    encrypted, sig = W1.seal(message, "1", "2", prefix)
    assert W1.open(sig, "1", "2", encrypted) == message
