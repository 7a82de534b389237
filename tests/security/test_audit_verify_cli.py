"""``claimbot audit verify`` as an operator runs it: a real process over a SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from storage.sqlite import SqliteStorage
from tests.app.test_cli import claimbot
from tests.contract.support import FakeClock, make_claim
from tests.contract.test_storage_audit_chain import with_trail


def config_for(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "claimbot.db"}"\n')
    return path


async def seed(db: Path) -> list[str]:
    store = SqliteStorage(str(db), clock=FakeClock())
    await store.open()
    try:
        return [(await with_trail(store, number)).id for number in (1, 2)]
    finally:
        await store.close()


def test_verify_reports_ok_then_the_first_broken_link(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    first, second = asyncio.run(seed(tmp_path / "claimbot.db"))
    ok = claimbot("audit", "verify", "-c", str(config))
    assert (ok.returncode, ok.stdout.strip()) == (0, "ok: 8 entries in 2 claims"), ok.stderr

    with sqlite3.connect(tmp_path / "claimbot.db") as conn:
        seq, doc = conn.execute(
            "SELECT seq, doc FROM audit WHERE claim_id = ? ORDER BY seq LIMIT 1 OFFSET 2",
            (second,),
        ).fetchone()
        entry = json.loads(doc)
        entry["to_version"] = 99
        conn.execute("UPDATE audit SET doc = ? WHERE seq = ?", (json.dumps(entry), seq))
    broken = claimbot("audit", "verify", "-c", str(config))
    assert broken.returncode == 2
    assert broken.stderr.startswith(f"broken: claim {second} entry 2: entry was altered")
    assert f"stored {entry['hash']}" in broken.stderr

    only_first = claimbot("audit", "verify", "-c", str(config), "--claim", first)
    assert (only_first.returncode, only_first.stdout.strip()) == (0, "ok: 4 entries in 1 claims")


def test_verify_of_an_unknown_claim_or_bad_id(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    asyncio.run(seed(tmp_path / "claimbot.db"))
    missing = claimbot("audit", "verify", "-c", str(config), "--claim", make_claim(9).id)
    assert (missing.returncode, missing.stdout.strip()) == (0, "ok: 0 entries in 0 claims")
    bad = claimbot("audit", "verify", "-c", str(config), "--claim", "x; DROP TABLE audit")
    assert bad.returncode == 2 and "not a claim id" in bad.stderr
