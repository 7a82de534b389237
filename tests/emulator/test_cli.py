"""``claimbot demo`` and ``claimbot replay`` are on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


@pytest.mark.parametrize("command", ["demo", "replay"])
def test_the_command_is_listed_with_its_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert f"claimbot {command}" in capsys.readouterr().out


def test_replay_refuses_a_file_that_is_not_an_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "x.jsonl"
    export.write_text("not json\n")
    assert main(["replay", str(export), "--url", "http://127.0.0.1:9"]) == 2
    assert "x.jsonl:1" in capsys.readouterr().err
