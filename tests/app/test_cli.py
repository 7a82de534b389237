"""The operator's commands, run as real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def claimbot(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
        timeout=60, check=False, **kw,  # type: ignore[arg-type]
    )


def test_check_config_accepts_the_example() -> None:
    result = claimbot("check-config", "-c", "config.example.toml")
    assert result.returncode == 0, result.stderr


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[server]\nport = 70000\nprot = 1\n[storage]\nurl = "mysql://x"\n'
        '[feishu]\napp_id = "cli_x"\n'
        '[[approval.steps]]\nname = "x"\napprover = "manager"\nmin_amount = "abc"\n',
        encoding="utf-8",
    )
    result = claimbot("check-config", "-c", str(bad))
    assert result.returncode == 2
    for path in ("server.port", "server.prot", "storage.url", "feishu.app_secret",
                 "approval.steps[0].min_amount"):
        assert path in result.stderr, result.stderr


def test_serve_announces_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "c.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "c.db"}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bot", "serve", "-c", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == f"listening on http://127.0.0.1:{port}"
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=5) as resp:
                assert resp.status == 200
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
            assert time.monotonic() - started < 15
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_serve_without_storage_exits_without_printing_its_password(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {free_port()}\n'
        f'[storage]\nurl = "redis://:hunter2-storage-pw@127.0.0.1:{free_port()}/0"\n',
        encoding="utf-8",
    )
    result = claimbot("serve", "-c", str(config))
    assert result.returncode == 1
    assert "storage unavailable" in result.stderr
    assert "hunter2-storage-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
