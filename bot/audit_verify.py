"""``claimbot audit verify``: walk every claim's audit hash chain and report the first broken link.

Exit 0 with ``ok: N entries in M claims`` when every chain holds; exit 2 with the claim id, the
entry's index in its claim's trail, and the expected and stored values of the first link that
does not. The chain itself is described in :mod:`storage.audit_chain`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from bot.config import ConfigError, load_config
from storage import open_storage
from storage.audit_chain import AuditChainSource, ChainBreak, is_legacy, verify
from storage.base import StorageError


@dataclass(slots=True)
class Report:
    entries: int = 0
    claims: int = 0
    legacy: int = 0  # claims whose entries all predate chaining
    broken: ChainBreak | None = None

    def text(self) -> str:
        if self.broken is not None:
            return f"broken: {self.broken}"
        line = f"ok: {self.entries} entries in {self.claims} claims"
        if self.legacy:
            line += f" ({self.legacy} written before chaining have no hashes to check)"
        return line


async def verify_store(source: AuditChainSource, claim_id: str | None = None) -> Report:
    """Check one claim's chain, or every chain in the store, stopping at the first break."""
    report = Report()
    ids = [claim_id] if claim_id else await source.audit_claim_ids()
    for current in ids:
        entries, head = await source.audit_chain(current)
        if not entries and head is None:
            continue
        report.broken = verify(current, entries, head)
        if report.broken is not None:
            return report
        report.entries += len(entries)
        report.claims += 1
        report.legacy += is_legacy(entries, head)
    return report


async def _verify_config(path: str, claim_id: str | None) -> tuple[int, str]:
    config = load_config(path)
    store = open_storage(config.storage.url, attachment_limit=config.storage.attachment_max_bytes)
    if not isinstance(store, AuditChainSource):
        return 2, f"storage {type(store).__name__} cannot list its audit chains"
    await store.open()
    try:
        report = await verify_store(store, claim_id)
    finally:
        await store.close()
    return (2 if report.broken else 0), report.text()


def audit_verify(path: str, claim_id: str | None) -> tuple[int, str]:
    """(exit code, the line to print) for ``claimbot audit verify -c path [--claim ID]``."""
    try:
        return asyncio.run(_verify_config(path, claim_id))
    except ConfigError as exc:
        return 2, f"{path}: invalid configuration\n{exc}"
    except (StorageError, ValueError) as exc:
        return 2, f"cannot verify the audit log: {exc}"


def add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="check the tamper-evident audit log")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    check = actions.add_parser("verify", help="walk the audit hash chains; exit 2 on a break")
    check.add_argument("-c", "--config", required=True, help="path to config.toml")
    check.add_argument("--claim", help="check only this claim (BX-YYYY-NNNNNN)")


def run_audit(args: argparse.Namespace) -> int:
    code, text = audit_verify(args.config, args.claim)
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code
