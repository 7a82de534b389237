"""The local emulator of Feishu, WeCom and DingTalk behind ``claimbot demo``.

Each platform's open API is emulated by a small aiohttp app speaking its wire format
(``feishu``, ``wecom``, ``dingtalk``), and each platform's callbacks are built and sealed exactly
as the platform does (``*_callbacks``). The adapter tests use the same code as their fakes. The
demo (``demo``) runs the real server against them, and a web page at ``/emulator`` (``web``,
``static/``) lets a person chat as anyone in a seeded organisation (``org``).
"""
