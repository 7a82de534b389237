"""The filing drivers (tests/filing/drive.py) with a route that has a finance step, and more.

An approvals driver is the filing driver of its platform with: finance (赵六) configured for the
platform and a route of ``[approval.steps]`` (the manager, then finance, by default); a second
approver (王五) and finance in the platform's directory; storage and the clock of ``create_app``
chosen by the test (Redis under a prefix, a clock the test moves); a second app instance on the
same storage and fake; and ``decide``, which gives a reason the way that platform's card takes
one (Feishu: the form input; WeCom: the dropdown's preset, else "other" and a message; DingTalk:
the reject button of that preset, else the "other" button and a message).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import ApprovalConfig, ApprovalStepConfig, FinanceConfig
from storage.base import Storage
from storage.redis import RedisStorage
from tests.fakes.dingtalk import FakeDingtalk, card_callback_payload, robot_payload
from tests.fakes.feishu import FakeFeishu
from tests.fakes.wecom import FakeWecom, Sent
from tests.filing.drive import (
    PEOPLE,
    Answer,
    ClientMaker,
    DingtalkDriver,
    Driver,
    FeishuDriver,
    Seen,
    WecomDriver,
    dingtalk_card,
)
from tests.reminders.conftest import REDIS_URL

APPLICANT, MANAGER, SECOND, FINANCE, COLLEAGUE = "zhangsan", "lisi", "wangwu", "zhaoliu", "qianqi"
MORE_PEOPLE = ((SECOND, "王五"), (FINANCE, "赵六"))
NAMES = {user: name for user, name, _ in PEOPLE} | dict(MORE_PEOPLE)
OTHER = "other"  # the preset meaning "I will type the reason" (handlers.approvals.OTHER_REASON)

MANAGER_THEN_FINANCE = ApprovalConfig(steps=(
    ApprovalStepConfig("直属上级", "manager"), ApprovalStepConfig("财务审核", "finance")))
TWO_THEN_FINANCE = ApprovalConfig(steps=(
    ApprovalStepConfig("双人审批", f"users:{MANAGER},{SECOND}"),
    ApprovalStepConfig("财务审核", "finance")))


class Approvals(Driver):
    """What every platform's approvals driver adds to its filing driver (a mixin, first base)."""

    storage: Callable[[], Storage] | None = None  # a fresh Storage per instance (Redis)
    clock: Callable[[], datetime] | None = None
    clients: list[TestClient[Any, Any]]

    def route(self, approval: ApprovalConfig) -> None:
        finance = FinanceConfig(**{self.platform: (FINANCE,)})
        self.config = replace(self.config, approval=approval, finance=finance)

    async def start(self) -> None:
        self.clients = []
        self.client = await self.instance()

    async def instance(self) -> TestClient[Any, Any]:
        """Another app on the same config, storage and fake (the first is ``self.client``)."""
        options: dict[str, Any] = {}
        if self.storage is not None:
            options["storage"] = self.storage()
        if self.clock is not None:
            options["clock"] = self.clock
        client = await self._make_client(create_app(self.config, **options))
        self.clients.append(client)
        self.starts += 1
        await self.connected()
        return client

    async def stop(self) -> None:
        for client in reversed(self.clients):
            await client.close()

    async def decide(self, user: str, card: Seen, verb: str, reason: str = "") -> Answer:
        """Approve, reject or return ``card`` giving ``reason`` as this platform's card takes it."""
        raise NotImplementedError

    async def audit(self, claim_id: str) -> list[tuple[str, str]]:
        """The claim's audit trail as (action, actor)."""
        trail = await self.client.app[keys.STORAGE].audit_trail(claim_id)
        return [(e.action, e.actor) for e in trail]

    async def file_and_submit(self, text: str = "报销 打车 45.5 昨天 去客户现场") -> Seen:
        """张三 files a claim and submits it; returns the approval card of its first step."""
        await self.say(APPLICANT, text)
        draft = self.last_card(APPLICANT, "claim_draft")
        await self.click(APPLICANT, draft, "submit:")
        requests = [c for c in self.cards_to(MANAGER, "approval_request")
                    if c.claim_id == draft.claim_id]
        assert requests, f"no approval card for {draft.claim_id}: {self.seen(MANAGER)}"
        return requests[-1]


class FeishuApprovals(Approvals, FeishuDriver):
    def __init__(self, make_client: ClientMaker, tmp_path: Path, fake: FakeFeishu,
                 approval: ApprovalConfig = MANAGER_THEN_FINANCE) -> None:
        super().__init__(make_client, tmp_path, fake)
        for user, name in MORE_PEOPLE:
            fake.add_user(user, name, departments=["od-1"])
        self.route(approval)

    async def decide(self, user: str, card: Seen, verb: str, reason: str = "") -> Answer:
        return await self.click(user, card, f"{verb}:", **({"reason": reason} if reason else {}))


class WecomApprovals(Approvals, WecomDriver):
    def __init__(self, make_client: ClientMaker, tmp_path: Path, fake: FakeWecom,
                 approval: ApprovalConfig = MANAGER_THEN_FINANCE) -> None:
        super().__init__(make_client, tmp_path, fake)
        for user, name in MORE_PEOPLE:
            fake.add_user(user, name, departments=[2])
        self.route(approval)

    async def click(self, user: str, card: Seen, prefix: str, **form: str) -> Answer:
        """As WeCom does, a click carries the card's dropdown at its current choice."""
        selection = self._current(card.handle).get("button_selection")
        if selection:
            form.setdefault(selection["question_key"], selection["selected_id"])
        return await super().click(user, card, prefix, **form)

    def presets(self, card: Seen) -> list[str]:
        sent: Sent = card.handle
        selection = self._current(sent).get("button_selection", {})
        return [o["id"] for o in selection.get("option_list", [])]

    async def decide(self, user: str, card: Seen, verb: str, reason: str = "") -> Answer:
        if not reason or reason in self.presets(card):  # approve: the dropdown as it stands
            given = {"reason": reason} if reason else {}
            return await self.click(user, card, f"{verb}:", **given)
        answer = await self.click(user, card, f"{verb}:", reason=OTHER)
        await self.say(user, reason)
        return answer


class DingtalkApprovals(Approvals, DingtalkDriver):
    def __init__(self, make_client: ClientMaker, tmp_path: Path, fake: FakeDingtalk,
                 approval: ApprovalConfig = MANAGER_THEN_FINANCE) -> None:
        super().__init__(make_client, tmp_path, fake, "stream")
        for user, name in MORE_PEOPLE:
            fake.users[user] = {"userid": user, "name": name, "manager_userid": "",
                                "dept_id_list": [2]}
        self.route(approval)

    async def say(self, user: str, text: str) -> None:
        await self._robot(robot_payload(text, sender=user, nick=NAMES[user]))

    async def click(self, user: str, card: Seen, prefix: str, **form: str) -> Answer:
        """A click on the card as ``card`` showed it: another device, or a second click before
        the card changed, still shows buttons the card at the fake no longer has."""
        action = card.action(prefix)
        payload = card_callback_payload(card.handle, user, {"action": action, "reason": "", **form})
        ack = await self.fake.wait_ack(await self.fake.push_card_callback(payload))
        assert ack["code"] == 200, ack
        response = json.loads(ack["data"])["response"]
        await self.settle()
        params = response.get("cardData", {}).get("cardParamMap")
        notice = response.get("userPrivateData", {}).get("cardParamMap", {}).get("notice", "")
        return Answer(notice, dingtalk_card(params, card.handle) if params else None)

    def reasons(self, card: Seen, verb: str) -> list[str]:
        """The ``reason`` params of the card's ``verb`` buttons (one button per preset)."""
        params = self.fake.cards[card.handle]["cardData"]["cardParamMap"]
        return [b["reason"] for b in json.loads(params.get("buttons", "[]"))
                if b["action"].startswith(f"{verb}:")]

    async def decide(self, user: str, card: Seen, verb: str, reason: str = "") -> Answer:
        presets = self.reasons(card, verb)
        if reason in presets:  # that button ("驳回：票据不全"), or approve's empty reason
            return await self.click(user, card, f"{verb}:", reason=reason)
        answer = await self.click(user, card, f"{verb}:", reason=OTHER)  # then ask in the chat
        await self.say(user, reason)
        return answer


Start = Callable[..., Awaitable[Any]]


def starter(kind: Callable[..., Approvals], make_client: ClientMaker, tmp_path: Path, fake: Any,
            started: list[Approvals]) -> Start:
    """``await start(approval, redis_prefix=…, clock=…)``: a running driver of ``kind``; each
    is stopped (its instances closed) by whoever owns ``started``, before the fake closes."""

    async def start(approval: ApprovalConfig = MANAGER_THEN_FINANCE, *, redis_prefix: str = "",
                    clock: Callable[[], datetime] | None = None) -> Approvals:
        driver = kind(make_client, tmp_path, fake, approval)
        if redis_prefix:
            driver.storage = lambda: RedisStorage(REDIS_URL, prefix=redis_prefix)
        driver.clock = clock
        await driver.start()
        started.append(driver)
        return driver

    return start


async def concurrently(*clicks: Any) -> list[Answer]:
    """Clicks delivered at once (two devices, two approvers): their answers, in order."""
    answers: list[Answer] = await asyncio.gather(*clicks)
    return answers
