"""Messages and cards out to DingTalk: robot text, interactive cards created and updated.

A card goes out with ``createAndDeliver`` into the user's chat with the robot or into a group.
DingTalk answers 200 even when nothing was delivered, so each ``deliverResults`` entry is
checked. The ``outTrackId`` we choose is the handle to every later update of that copy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bot.events import FileRef
from bot.platforms.base import CardRenderer, PlatformAPIError, TransientAPIError
from bot.platforms.dingtalk.api import PLATFORM, DingtalkAPI
from bot.platforms.dingtalk.cards import render_params
from bot.replies import Recipient

BATCH_LIMIT = 20  # userIds per oToMessages/batchSend call
_UPDATE_OPTIONS = {"updateCardDataByKey": True, "updatePrivateDataByKey": True}


def _msg_param(text: str) -> str:
    return json.dumps({"content": text}, ensure_ascii=False)


class DingtalkMessenger:
    """The :class:`~bot.platforms.base.Messenger` for DingTalk (robot code = client id)."""

    def __init__(
        self,
        api: DingtalkAPI,
        render: CardRenderer,
        *,
        robot_code: str,
        card_template_id: str,
        callback_route_key: str = "",
    ) -> None:
        self._api = api
        self._render = render
        self._robot_code = robot_code
        self._template_id = card_template_id
        self._route_key = callback_route_key  # HTTP card callbacks; Stream when empty

    async def send_text(self, to: Recipient, text: str, *, key: str = "") -> dict[str, str]:
        if to.chat_id:
            data = await self._api.call("POST", "/v1.0/robot/groupMessages/send", {
                "robotCode": self._robot_code, "openConversationId": to.chat_id,
                "msgKey": "sampleText", "msgParam": _msg_param(text),
            })
            return {"process_query_key": str(data.get("processQueryKey", ""))}
        keys = await self.send_text_to_users([to.user_id], text)
        return {"process_query_key": keys[0]}

    async def send_text_to_users(self, user_ids: Sequence[str], text: str) -> list[str]:
        """One robot message to many users, ``BATCH_LIMIT`` per call; the query keys per call."""
        keys: list[str] = []
        for start in range(0, len(user_ids), BATCH_LIMIT):
            chunk = list(user_ids[start : start + BATCH_LIMIT])
            data = await self._api.call("POST", "/v1.0/robot/oToMessages/batchSend", {
                "robotCode": self._robot_code, "userIds": chunk,
                "msgKey": "sampleText", "msgParam": _msg_param(text),
            })
            _check_batch(data)
            keys.append(str(data.get("processQueryKey", "")))
        return keys

    async def send_card(
        self, to: Recipient, name: str, data: Mapping[str, Any], lang: str, *, key: str = ""
    ) -> dict[str, str]:
        if not self._template_id:
            raise PlatformAPIError(PLATFORM, "no_card_template", "dingtalk.card_template_id unset")
        out_track_id = f"claimbot-{uuid.uuid4().hex}"
        body: dict[str, Any] = {
            "cardTemplateId": self._template_id,
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": render_params(self._render, name, data, lang)},
            "userIdType": 1,
            **self._callback(),
            **self._space(to),
        }
        reply = await self._api.call("POST", "/v1.0/card/instances/createAndDeliver", body)
        _check_delivered(reply)
        return {"out_track_id": out_track_id, "name": name}

    async def update_card(
        self, ref: Mapping[str, str], name: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, str]:
        out_track_id = ref.get("out_track_id", "")
        if not out_track_id:
            raise PlatformAPIError(PLATFORM, "bad_card_ref", "card ref without out_track_id")
        await self._api.call("PUT", "/v1.0/card/instances", {
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": render_params(self._render, name, data, lang)},
            "cardUpdateOptions": _UPDATE_OPTIONS,
            "userIdType": 1,
        })
        return {"out_track_id": out_track_id, "name": name}

    async def download(self, file: FileRef) -> tuple[bytes, str]:
        data = await self._api.call("POST", "/v1.0/robot/messageFiles/download", {
            "downloadCode": file.handle, "robotCode": self._robot_code,
        })
        url = data.get("downloadUrl")
        if not isinstance(url, str) or not url:
            raise PlatformAPIError(PLATFORM, "no_download_url", "no downloadUrl in the reply")
        return await self._api.get_bytes(url)

    def _callback(self) -> dict[str, Any]:
        if self._route_key:
            return {"callbackType": "HTTP", "callbackRouteKey": self._route_key}
        return {"callbackType": "STREAM"}

    def _space(self, to: Recipient) -> dict[str, Any]:
        if to.chat_id:
            return {
                "openSpaceId": f"dtv1.card//IM_GROUP.{to.chat_id}",
                "imGroupOpenSpaceModel": {"supportForward": True},
                "imGroupOpenDeliverModel": {"robotCode": self._robot_code},
            }
        return {
            "openSpaceId": f"dtv1.card//IM_ROBOT.{to.user_id}",
            "imRobotOpenSpaceModel": {"supportForward": False},
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": self._robot_code},
        }


def _check_batch(data: Mapping[str, Any]) -> None:
    invalid = data.get("invalidStaffIdList") or []
    throttled = data.get("flowControlledStaffIdList") or []
    if throttled:
        raise TransientAPIError(PLATFORM, "flow_controlled", f"not sent to {throttled}")
    if invalid:
        raise PlatformAPIError(PLATFORM, "invalid_staff_id", f"not sent to {invalid}")


def _check_delivered(reply: Mapping[str, Any]) -> None:
    result = reply.get("result")
    results = result.get("deliverResults") if isinstance(result, Mapping) else None
    if not isinstance(results, list) or not results:
        raise PlatformAPIError(PLATFORM, "not_delivered", "createAndDeliver reported no delivery")
    failed = [r for r in results if not (isinstance(r, Mapping) and r.get("success") is True)]
    if failed:
        first = failed[0] if isinstance(failed[0], Mapping) else {}
        raise PlatformAPIError(PLATFORM, "deliver_failed", str(first.get("errorMsg", "failed")))
