"""serve(): SIGTERM is handled by the time "listening on" is printed, so a supervisor that stops
the server as soon as it sees that line gets a graceful shutdown, not the default kill."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import pytest

import bot.serve
from bot.app import create_app
from bot.config_model import Config, ServerConfig, StorageConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sigterm_right_after_the_announcement_stops_gracefully(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config(
        server=ServerConfig(host="127.0.0.1", port=free_port()),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'c.db'}"),
    )
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("SIGTERM is already handled in this test process")
    printed: list[str] = []

    def announce(text: str, **kwargs: object) -> None:
        printed.append(text)
        if text.startswith("listening on"):
            # Sending SIGTERM to ourselves unhandled would kill the test run: refuse instead.
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(bot.serve, "print", announce, raising=False)
    monkeypatch.setattr(bot.serve, "tune_gc", lambda: None)  # not the test process's collector
    await asyncio.wait_for(bot.serve.serve(create_app(config, platforms=[]), config), 20)
    assert printed == [f"listening on http://127.0.0.1:{config.server.port}"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # asyncio's removal restores it
