"""``claimbot replay FILE``: send again, in order, what a person did on the emulator page.

The file is the page's export (JSON lines): each line is one action (a message, an image, a
click on a card) with the decrypted callback it produced. Replay hands each action to a running
demo's emulator, which seals it with that server's keys and delivers it exactly as the platform
would — through the server's real routes or its DingTalk Stream connection. After each action
replay waits until the bot has stopped reacting, and a click waits (up to ``wait`` seconds) for
its card: cards are named by their order in a window (``wecom-lisi-c1`` is the first card 李四
got on WeCom), so a fresh demo reproduces them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

RETRY_EVERY = 0.25
QUIET = 0.3  # seconds without a new message or card change: the bot is done reacting
ACTION_FIELDS = ("platform", "user", "type", "text", "card", "value", "form", "data",
                 "content_type", "name")


def add_replay_parser(commands: Any) -> None:
    """``claimbot replay FILE [--url URL] [--wait S]`` on the CLI's subcommands."""
    replay = commands.add_parser(
        "replay", help="replay callbacks exported from the emulator page against a running demo"
    )
    replay.add_argument("file", help="JSON lines file (the page's 导出 JSONL)")
    replay.add_argument("--url", default="http://127.0.0.1:8080", help="the demo server")
    replay.add_argument("--wait", type=float, default=15.0,
                        help="seconds to wait for a card a click needs")


def run_replay(args: argparse.Namespace) -> int:
    return asyncio.run(replay_file(Path(args.file), args.url, args.wait))


def read_actions(path: Path) -> list[dict[str, Any]]:
    """The actions of a JSON lines export; raises ValueError naming the bad line."""
    actions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(record, dict) or not {"platform", "user", "type"} <= record.keys():
            raise ValueError(f"{path}:{number}: needs platform, user and type")
        actions.append({k: record[k] for k in ACTION_FIELDS if k in record})
    return actions


async def replay(
    actions: list[dict[str, Any]], url: str, wait: float, say: Callable[[str], None] = print
) -> int:
    """Deliver every action; the number that failed."""
    failed = 0
    endpoint = url.rstrip("/") + "/emulator/api/act"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        for number, action in enumerate(actions, start=1):
            status, answer = await _deliver(http, endpoint, action, wait)
            await _settle(http, url, wait)
            ok = status == 200 and int(answer.get("status", 0)) == 200
            failed += 0 if ok else 1
            what = action.get("text") or action.get("card") or action.get("name") or ""
            detail = answer.get("toast") or answer.get("error") or ""
            say(f"{number:>3} {'ok  ' if ok else 'FAIL'} {action['platform']:<8} "
                f"{action['user']:<8} {action['type']:<5} {what} {detail}".rstrip())
    return failed


async def _deliver(
    http: aiohttp.ClientSession, endpoint: str, action: dict[str, Any], wait: float
) -> tuple[int, dict[str, Any]]:
    deadline = time.monotonic() + wait
    while True:
        async with http.post(endpoint, json=action) as response:
            status = response.status
            answer = await response.json(content_type=None)
        if status != 404 or time.monotonic() >= deadline:  # 404: the card is not there yet
            return status, answer if isinstance(answer, dict) else {}
        await asyncio.sleep(RETRY_EVERY)


async def _settle(http: aiohttp.ClientSession, url: str, wait: float) -> None:
    """Let the bot finish reacting before the next action, as a person would."""
    params = {"quiet": str(QUIET), "within": str(wait)}
    async with http.get(url.rstrip("/") + "/emulator/api/settle", params=params) as response:
        await response.read()


async def replay_file(path: Path, url: str, wait: float) -> int:
    """The command: 0 when every action was delivered and acknowledged, 1 otherwise."""
    try:
        actions = read_actions(path)
    except (OSError, ValueError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    try:
        failed = await replay(actions, url, wait)
    except aiohttp.ClientError as exc:
        print(f"replay: {url} does not answer as a claimbot demo: {exc}", file=sys.stderr)
        return 1
    print(f"replayed {len(actions)} actions, {failed} failed")
    return 1 if failed else 0
