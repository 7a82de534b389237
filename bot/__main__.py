"""``python -m bot …`` is the same as ``claimbot …``."""

from bot.cli import main

raise SystemExit(main())
