"""The published DingTalk vectors (research part B §4, §5) through the crypto the adapter uses."""

from __future__ import annotations

import pytest

from bot.platforms.dingtalk.signing import robot_sign
from bot.platforms.wxcrypt import ReceiveIdError, WXBizMsgCrypt

D1 = {
    "token": "123456", "key": "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij",
    "owner": "suite4xxxxxxxxxxxxxxx", "signature": "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0",
    "timestamp": "1445827045067", "nonce": "nEXhMP4r",
    "encrypt": "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG"
    "+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUat"
    "hB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
    "plain": '{"EventType":"check_create_suite_url","Random":"LPIdSnlF",'
    '"TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}',
}
D2 = {
    "token": "mryue", "key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
    "owner": "ding6ccabc44d2c8d38b", "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
    "timestamp": "1608001896814", "nonce": "WL4PK6yA",
    "encrypt": "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd"
    "15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
    "plain": '{"EventType":"check_url"}',
}


@pytest.mark.parametrize("vector", [D1, D2], ids=["D1", "D2"])
def test_published_vector_verifies_and_decrypts(vector: dict[str, str]) -> None:
    crypt = WXBizMsgCrypt(vector["token"], vector["key"], vector["owner"])
    plain = crypt.open(vector["signature"], vector["timestamp"], vector["nonce"], vector["encrypt"])
    assert plain == vector["plain"]


def test_vector_for_another_app_is_refused() -> None:
    crypt = WXBizMsgCrypt(D2["token"], D2["key"], "dingsomeoneelse")
    with pytest.raises(ReceiveIdError):
        crypt.decrypt(D2["encrypt"])


def test_success_reply_matches_the_computed_vector() -> None:
    crypt = WXBizMsgCrypt(D2["token"], D2["key"], D2["owner"])
    encrypted, signature = crypt.seal("success", D2["timestamp"], D2["nonce"], b"abcdefghijklmnop")
    assert encrypted == (
        "QjFVo6WtpzPr7RoyTeB2RiaR3xB2mMl8rk8y7ok0+3p4lanNu72WYgTGf2dCORsQrs6Yz+FV+5t9cYo8A/nGsg=="
    )
    assert signature == "c74e45295bc530971a7185949972e375b18c3f30"


def test_robot_signature_vector() -> None:
    assert robot_sign("this is secret", "1577262236757") == (
        "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="
    )
