"""``claimbot serve | demo | check-config | outbox | directory | replay``: entry points."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.audit_verify import add_audit_parser, run_audit
from bot.backends.outbox_admin import add_outbox_parser, run_outbox
from bot.config import ConfigError, check_config, load_config, secret_values
from bot.config_model import Config
from bot.emulator.replay import add_replay_parser, run_replay
from bot.logs import setup_logging
from storage.base import StorageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claimbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("-c", "--config", required=True, help="path to config.toml")
    demo = commands.add_parser(
        "demo", help="the real server against the built-in emulator of all three platforms"
    )
    demo.add_argument("--data", help="directory for the SQLite file (default: a temp dir)")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--host", default="127.0.0.1")
    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("-c", "--config", required=True, help="path to config.toml")
    add_audit_parser(commands)
    add_outbox_parser(commands)
    add_replay_parser(commands)
    directory = commands.add_parser("directory", help="the org directory file ([directory] file)")
    sync = directory.add_subparsers(dest="action", required=True).add_parser(
        "sync", help="reload the directory file and check its people against each platform"
    )
    sync.add_argument("-c", "--config", required=True, help="path to config.toml")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        code, text = check_config(args.config)
        print(text, file=sys.stdout if code == 0 else sys.stderr)
        return code
    if args.command == "outbox":
        return _outbox(args)
    if args.command == "audit":
        return run_audit(args)
    if args.command == "directory":
        return _directory_sync(args.config)
    if args.command == "serve":
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"{args.config}: invalid configuration\n{exc}", file=sys.stderr)
            return 2
        return _run(config)
    if args.command == "replay":
        return run_replay(args)
    return _demo(args.data, args.host, args.port)


def _outbox(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{args.config}: invalid configuration\n{exc}", file=sys.stderr)
        return 2
    return asyncio.run(run_outbox(config, args, print))


def _directory_sync(path: str) -> int:
    try:
        config = load_config(path)  # a malformed directory file is a problem of directory.file
    except ConfigError as exc:
        print(f"{path}: invalid configuration\n{exc}", file=sys.stderr)
        return 2
    if not config.directory.file:
        print(f"{path}: [directory] file is not set; there is nothing to sync", file=sys.stderr)
        return 2
    return asyncio.run(_sync_directory(config))


async def _sync_directory(config: Config) -> int:
    """Print each enabled platform's SyncReport; 1 when a platform's directory cannot answer."""
    import aiohttp

    from bot.directory import OrgService
    from bot.directory_file import DirectoryFileError
    from bot.events import Event
    from bot.platforms.base import Ingested
    from bot.platforms.registry import configured_platforms
    from cards import render_card

    async def no_events(event: Event, budget: float) -> Ingested:
        raise RuntimeError("directory sync receives no events")

    code, file, factories = 0, config.directory.file, configured_platforms(config)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        for factory in factories:
            adapter = factory.build(http, render_card, no_events)
            try:
                org = OrgService(adapter.directory, platform=factory.name, overrides_file=file)
                report = await org.refresh(check=list(org.overrides.users))
            except DirectoryFileError as exc:
                print(f"{file}: {exc}", file=sys.stderr)
                return 2
            except Exception as exc:  # the platform is down or refuses: say so, go on
                print(f"{factory.name}: directory unavailable: {exc}", file=sys.stderr)
                code = 1
                continue
            unknown = ", ".join(report.unknown_to_platform) or "none"
            print(f"{factory.name}: {report.source}: {report.file_users} people, "
                  f"{report.file_departments} departments; {report.checked} checked, "
                  f"unknown to {factory.name}: {unknown}")
        if not factories:
            print(f"{file}: loads; no platform is enabled to check it against")
    return code


def _run(config: Config, announce: str = "") -> int:
    from bot.app import create_app
    from bot.serve import serve

    setup_logging(config.server.log_format, config.server.log_level, secret_values(config))
    try:
        asyncio.run(serve(create_app(config), config, announce))
    except StorageError as exc:
        # Through the log, whose filter masks secrets: the message may hold the storage URL
        # with its password, which an uncaught traceback would print as it is.
        logging.getLogger("claimbot.serve").error("storage unavailable, stopping: %s", exc)
        return 1
    return 0


def _demo(data: str | None, host: str, port: int) -> int:
    from bot.emulator.demo import run_demo

    directory = Path(data) if data else Path(tempfile.mkdtemp(prefix="claimbot-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    asyncio.run(run_demo(directory, host, port))
    return 0
