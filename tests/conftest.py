"""Suite-wide settings: with CLAIMBOT_REQUIRE_REDIS=1 (CI) the Redis tests must run, not skip."""

from __future__ import annotations

import os

import pytest

REDIS_REQUIRED = os.environ.get("CLAIMBOT_REQUIRE_REDIS") == "1"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    passed = [r for r in terminalreporter.stats.get("passed", []) if "redis" in r.keywords]
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "redis" in r.keywords]
    terminalreporter.write_line(
        f"redis contract tests: {len(passed)} passed, {len(skipped)} skipped"
    )
    if REDIS_REQUIRED and (skipped or not passed):
        terminalreporter.write_line("CLAIMBOT_REQUIRE_REDIS=1 but Redis tests did not all run")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REDIS_REQUIRED:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    stats = reporter.stats
    ran = [r for r in stats.get("passed", []) if "redis" in r.keywords]
    skipped = [r for r in stats.get("skipped", []) if "redis" in r.keywords]
    if (skipped or not ran) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
