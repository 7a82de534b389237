"""What the bench scripts share: load generation, figures, and servers in and out of process.

Not a bench itself (``make bench`` runs it and it only says so). Its two sub-commands are the
helper processes ``bench/ingest.py`` and ``bench/footprint.py`` start:

- ``python bench/_load.py bare``: a bare aiohttp app answering an empty 200 to every POST, the
  baseline a running claimbot is compared with (its own process, like the server under test).
- ``python bench/_load.py fakes``: the emulator's three fake open platforms (``bot.emulator``)
  with fresh credentials; prints one JSON line (credentials and URLs), runs until stdin closes.

The load generator is :class:`RawClient`: keep-alive HTTP/1.1 connections on asyncio protocols,
writing requests serialised up front and reading only the status line and Content-Length. It
runs in the bench's own process, one event loop, while the server under test is a separate
process: on a two-core machine that gives the server a core of its own, and the client does a
few microseconds of Python per request instead of aiohttp's ClientSession (whose cost per request
is close to the server's, so the bare baseline would measure the client). Each ingest figure
comes with the generator's CPU share, so a run where the client was the limit says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import string
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
REDIS_URL = os.environ.get("CLAIMBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

# -- figures --------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) by nearest rank; 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, columns padded for the terminal too."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def rss_kib(pid: int) -> int:
    """Resident set size of process ``pid`` in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    mem = next((int(line.split()[1]) // 1024 for line in
                Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return (f"{os.cpu_count()} cores ({model}), {mem} MiB RAM, Python "
            f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")


# -- the raw load generator -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, serialised once; ``wire`` is what goes on the socket."""

    wire: bytes

    @classmethod
    def post(cls, target: str, headers: Mapping[str, str], body: bytes) -> Request:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()
                       if k.lower() not in ("host", "content-length"))
        return cls(f"POST {target} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
                   f"{head}\r\n".encode() + body)

    @classmethod
    def get(cls, target: str, headers: Mapping[str, str] | None = None) -> Request:
        head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        return cls(f"GET {target} HTTP/1.1\r\nHost: bench\r\n{head}\r\n".encode())


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._waiter is None:
            return
        head = bytes(self._buffer[:end]).lower()
        marker = head.find(b"\r\ncontent-length:")
        if marker < 0:
            self._fail(ConnectionError("response without Content-Length"))
            return
        stop = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : stop if stop > 0 else len(head)])
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        waiter, self._waiter = self._waiter, None
        if not waiter.done():
            waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection lost: {exc}"))

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def send(self, request: Request) -> tuple[int, bytes]:
        assert self.transport is not None
        assert self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request.wire)
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass
class Run:
    """What one batch of requests gave: wall seconds, latencies, statuses, client CPU share."""

    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    client_cpu: float  # generator CPU seconds / wall seconds (1.0 = one core busy)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


@dataclass
class RawClient:
    """Keep-alive connections to ``host:port``; see the module docstring."""

    host: str
    port: int
    _idle: list[_Connection] = field(default_factory=list)

    @classmethod
    def for_url(cls, url: str) -> RawClient:
        host, port = url.removeprefix("http://").split(":")
        return cls(host, int(port.rstrip("/")))

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Connection, self.host, self.port)
        return protocol

    async def _take(self) -> _Connection:
        return self._idle.pop() if self._idle else await self._open()

    async def one(self, request: Request) -> tuple[int, bytes]:
        connection = await self._take()
        try:
            answer = await connection.send(request)
        except BaseException:
            connection.close()
            raise
        self._idle.append(connection)
        return answer

    async def warm(self, count: int) -> None:
        while len(self._idle) < count:
            self._idle.append(await self._open())

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def saturate(self, requests: Sequence[Request], concurrency: int) -> Run:
        """Closed loop: ``concurrency`` connections, each sends its next request on an answer."""
        await self.warm(concurrency)
        pending = iter(requests)
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        async def worker() -> None:
            for request in pending:
                started = time.perf_counter()
                status, _ = await self.one(request)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        return Run(wall, latencies, statuses, (time.process_time() - cpu) / wall)

    async def paced(self, requests: Sequence[Request], rate: float) -> Run:
        """Open loop at ``rate`` a second: each latency counts from when its request was due, so
        a stalled server is charged for the requests that queued behind it."""
        await self.warm(32)
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        async def one(request: Request, due: float) -> None:
            status, _ = await self.one(request)
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1

        tasks = []
        cpu, start = time.process_time(), time.perf_counter()
        for n, request in enumerate(requests):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(request, due)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
        return Run(wall, latencies, statuses, (time.process_time() - cpu) / wall)


def require_ok(run: Run, what: str) -> None:
    bad = {status: n for status, n in run.statuses.items() if status != 200}
    if bad:
        raise RuntimeError(f"{what}: non-200 answers {bad}")


# -- processes ------------------------------------------------------------------------------


@dataclass
class Process:
    """A child process whose stdout lines are kept (and drained, so it never blocks)."""

    proc: asyncio.subprocess.Process
    lines: list[str]
    started: float  # perf_counter when it was spawned
    _reader: asyncio.Task[None] | None = None
    _seen: dict[str, float] = field(default_factory=dict)  # line -> perf_counter when read

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def wait_line(self, prefix: str, within: float = 30.0) -> tuple[str, float]:
        """The first stdout line starting with ``prefix`` and seconds from spawn to it."""
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            for line in self.lines:
                if line.startswith(prefix):
                    return line, self._seen[line] - self.started
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.002)
        raise RuntimeError(f"no {prefix!r} from pid {self.pid}; stdout: {self.lines[-5:]}")

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def spawn(args: Sequence[str], *, env: Mapping[str, str] | None = None,
                stderr: Path | None = None, stdin: bool = False, cwd: Path = ROOT) -> Process:
    errors = stderr.open("ab") if stderr is not None else asyncio.subprocess.DEVNULL
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=errors,
    )
    process = Process(proc, [], started)

    async def read() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace").rstrip("\n")
            process._seen[text] = time.perf_counter()
            process.lines.append(text)

    process._reader = asyncio.create_task(read())
    return process


async def start_server(config: Path, stderr: Path | None = None,
                       tree: Path = ROOT) -> tuple[Process, str]:
    """``python -m bot serve -c config`` (from the source ``tree``: another checkout to compare
    with); its URL once it says ``listening on`` and ``/readyz`` answers 200."""
    server = await spawn([PYTHON, "-m", "bot", "serve", "-c", str(config)], stderr=stderr,
                         cwd=tree)
    line, _ = await server.wait_line("listening on ")
    url = line.removeprefix("listening on ").strip()
    await wait_ready(url)
    return server, url


async def wait_ready(url: str, within: float = 30.0) -> float:
    """Poll ``/readyz`` until it answers 200; the seconds that took."""
    started = time.perf_counter()
    async with ClientSession(connector=TCPConnector(force_close=True)) as http:
        while time.perf_counter() - started < within:
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                async with http.get(url + "/readyz") as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            await asyncio.sleep(0.005)
    raise RuntimeError(f"{url}/readyz not 200 within {within} s")


async def wait_drained(url: str, within: float = 300.0) -> float:
    """Poll ``/metrics`` until no live row waits in the inbound or platform queue (the work a
    burst left behind is done); the seconds that took."""
    started = time.perf_counter()
    async with ClientSession() as http:
        while time.perf_counter() - started < within:
            async with http.get(url + "/metrics") as response:
                text = await response.text()
            live = sum(
                float(line.rpartition(" ")[2]) for line in text.splitlines()
                if line.startswith("claimbot_queue_depth{") and 'state="live"' in line
                and ('topic="inbound"' in line or 'topic="platform"' in line)
            )
            if live == 0:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url}: queues not drained within {within} s")


async def start_bare() -> tuple[Process, str]:
    bare = await spawn([PYTHON, str(Path(__file__)), "bare"])
    line, _ = await bare.wait_line("listening on ")
    return bare, line.removeprefix("listening on ").strip()


@dataclass(frozen=True, slots=True)
class Fakes:
    """The emulator's fake platforms running in a helper process, and what to seal with."""

    process: Process
    creds: dict[str, str]
    urls: dict[str, str]


async def start_fakes() -> Fakes:
    fakes = await spawn([PYTHON, str(Path(__file__)), "fakes"], stdin=True)
    line, _ = await fakes.wait_line("{")
    info = json.loads(line)
    return Fakes(fakes, info["creds"], info["urls"])


def checkout(rev: str, into: Path) -> Path:
    """The source tree of commit ``rev`` (``git archive``) under ``into``, to run side by side."""
    import subprocess

    tree = into / f"tree-{rev}"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True,  # noqa: S603,S607
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)  # noqa: S603,S607
    return tree


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def letters(count: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(count))


# Applicants of the filing workload (Feishu): enough that each draft stays a realistic size
# (a claim holds at most 50 items) over a bench run's few thousand messages.
FILING_STAFF = tuple(f"staff{n:03d}" for n in range(200))

DINGTALK_EVENT_TOKEN = "benchEventToken"
DINGTALK_EVENT_KEY = "benchEventAesKey0123456789abcdefghijklmnopq"  # 43 characters
DINGTALK_CARD_TOKEN = "bench-card-callback-token"


def server_toml(creds: Mapping[str, str], urls: Mapping[str, str], storage_url: str, *,
                platforms: Iterable[str] = ("feishu", "wecom", "dingtalk"),
                log_level: str = "WARNING", limits: bool = False, port: int = 0,
                feishu_mode: str = "webhook") -> str:
    """A config.toml for ``claimbot serve`` against the fakes (``Fakes.creds`` and ``.urls``):
    the demo's organisation (``bot.emulator.org``), DingTalk in HTTP mode so callbacks are HTTP
    too; rate limits off unless ``limits`` (the bench measures capacity, not the limiter).
    ``feishu_mode = "websocket"`` connects Feishu to the fake's long connection instead."""
    c, u, enabled = creds, urls, set(platforms)
    parts = [
        f'[server]\nhost = "127.0.0.1"\nport = {port or free_port()}\nlog_level = "{log_level}"',
        "" if limits else "rate_limit_route = 0.0\nrate_limit_sender = 0.0",
        f'[storage]\nurl = "{storage_url}"',
        '[company]\nname = "示例科技有限公司"\ntax_id = "91110000MA01ABCD1M"',
        '[backend]\nkind = "none"',
    ]
    finance = []
    if "feishu" in enabled:
        parts.append(f'[feishu]\napp_id = "{c["feishu_app_id"]}"\n'
                     f'app_secret = "{c["feishu_secret"]}"\n'
                     f'verification_token = "{c["feishu_token"]}"\n'
                     f'encrypt_key = "{c["feishu_encrypt_key"]}"\nbase_url = "{u["feishu"]}"\n'
                     f'mode = "{feishu_mode}"')
        finance.append('feishu = ["ou_zhaoliu"]')
    if "wecom" in enabled:
        parts.append(f'[wecom]\ncorp_id = "{c["wecom_corp_id"]}"\nagent_id = 1000002\n'
                     f'secret = "{c["wecom_secret"]}"\ntoken = "{c["wecom_token"]}"\n'
                     f'encoding_aes_key = "{c["wecom_aes_key"]}"\nbase_url = "{u["wecom"]}"')
        finance.append('wecom = ["zhaoliu"]')
    if "dingtalk" in enabled:
        parts.append(f'[dingtalk]\nclient_id = "{c["dingtalk_client_id"]}"\n'
                     f'client_secret = "{c["dingtalk_secret"]}"\nmode = "http"\n'
                     f'event_token = "{DINGTALK_EVENT_TOKEN}"\n'
                     f'event_aes_key = "{DINGTALK_EVENT_KEY}"\n'
                     f'card_callback_token = "{DINGTALK_CARD_TOKEN}"\n'
                     f'card_template_id = "claimbot-bench.schema"\n'
                     f'base_url = "{u["dingtalk"]}"\noapi_base_url = "{u["dingtalk"]}"')
        finance.append('dingtalk = ["zhaoliu"]')
    parts.append("[finance]\n" + "\n".join(finance))
    parts.append(_RULES)
    return "\n\n".join(p for p in parts if p) + "\n"


_RULES = """\
[[categories]]
code = "taxi"
name = "交通-打车"
aliases = ["打车", "出租车", "taxi"]
max_per_item = "300.00"

[[categories]]
code = "meal"
name = "餐费"
aliases = ["午餐", "晚餐", "meal"]

[[approval.steps]]
name = "直属上级"
approver = "manager"

[[approval.steps]]
name = "财务审核"
approver = "finance"
min_amount = "1000.00"
"""


async def redis_clear(url: str = REDIS_URL, prefix: str = "claimbot:") -> None:
    """Delete the keys a bench server left under ``prefix`` in ``url``'s database."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()


async def redis_up(url: str = REDIS_URL) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await client.aclose()


Rows = list[list[object]]


async def per_backend(argv: Sequence[str], run: Callable[[str, str, Path], Awaitable[Rows]],
                      database: str = "bench.db") -> Rows:
    """``run(name, storage_url, tmp)`` on SQLite (``database`` in a temp dir) and on Redis
    (``REDIS_URL``: skipped, saying so, when it does not answer; claimbot's default key prefix
    cleared before and after), as ``argv`` asks (``sqlite``, ``redis``; both by default)."""
    import tempfile

    wanted = {a for a in argv if a in ("sqlite", "redis")} or {"sqlite", "redis"}
    rows: Rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in wanted:
            rows += await run("SQLite", f"sqlite:///{Path(tmp) / database}", Path(tmp))
        if "redis" in wanted:
            if not await redis_up():
                print(f"redis: skipped, nothing answers at {REDIS_URL}")
                return rows
            await redis_clear()
            try:
                rows += await run("Redis", REDIS_URL, Path(tmp))
            finally:
                await redis_clear()
    return rows


# -- seeded storage (footprint, lists) ------------------------------------------------------


def bench_claim(number: int, applicant: str, approver: str, platform: str = "feishu") -> Any:
    """Claim number ``number``: one taxi item, waiting on ``approver`` at its first step."""
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    from storage.models import ApprovalStep, Claim, ClaimItem, ClaimStatus, Person

    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=number)
    return Claim(
        id=f"BX-2099-{number:06d}",
        applicant=Person(platform, applicant, name="员工", department_id="market"),
        items=(ClaimItem("taxi", Decimal("45.50"), date(2026, 1, 1), "打车去客户现场"),),
        status=ClaimStatus.APPROVING,
        created_at=at,
        updated_at=at,
        steps=(ApprovalStep("直属上级", (approver,)),),
    )


async def seed_claims(store: Any, count: int, mine: Sequence[tuple[str, str]] = (),
                      per_user: int = 50, batch: int = 500) -> None:
    """``count`` claims straight into ``store`` (batched commits). Each (applicant, approver)
    pair in ``mine`` (the users whose lists are measured) gets ``per_user`` of them, spread over
    the whole range, whatever ``count``; the rest belong to 1000 other people."""
    from storage.models import ClaimWrite, Commit

    every = max(1, count // (per_user * len(mine))) if mine else 0
    for start in range(1, count + 1, batch):
        claims = []
        for n in range(start, min(start + batch, count + 1)):
            if every and n % every == 0 and n // every <= per_user * len(mine):
                applicant, approver = mine[(n // every) % len(mine)]
            else:
                applicant, approver = f"u{n % 1000:04d}", f"m{n % 97:03d}"
            claims.append(bench_claim(n, applicant, approver))
        await store.commit(Commit(claims=[ClaimWrite(c, None) for c in claims]))


# -- in-process servers (the per-platform scripts) ------------------------------------------


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def bare_app(json_body: bool = False) -> web.Application:
    """Reads the body, answers 200 (empty, or ``{}`` like DingTalk's robot route)."""

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({}) if json_body else web.Response()

    app = web.Application()
    app.router.add_post("/{tail:.*}", ok)
    return app


def quiet_router() -> Any:
    """Handlers that do nothing, so an in-process figure is the ingest path alone."""
    from bot.dispatcher import HandlerContext, Router

    router = Router()

    @router.message(lambda event: True)
    async def ignore(ctx: HandlerContext) -> None:
        return None

    return router


def unlimited() -> Any:
    from bot.config_model import ServerConfig

    return ServerConfig(rate_limit_route=0, rate_limit_sender=0)  # capacity, not limits


def decode_rate(decode: Callable[[Any], object], requests: Sequence[Any]) -> float:
    """Requests a second through an adapter's ``decode`` alone, in-process."""
    started = time.perf_counter()
    for request in requests:
        decode(request)
    return len(requests) / (time.perf_counter() - started)


@dataclass
class InProcess:
    """An app and a bare 200 served in this process, with a :class:`RawClient` to each."""

    runners: list[web.AppRunner]
    bare: RawClient
    bot: RawClient

    @classmethod
    async def start(cls, app: web.Application, json_body: bool = False) -> InProcess:
        bot_runner, bot_url = await serve(app)
        bare_runner, bare_url = await serve(bare_app(json_body))
        return cls([bot_runner, bare_runner], RawClient.for_url(bare_url),
                   RawClient.for_url(bot_url))

    async def peak(self, batch: Callable[[int], Sequence[Request]], rounds: int,
                   concurrency: int = 16) -> tuple[float, float]:
        """Median requests/s of ``rounds`` alternating bare and app rounds (``batch(n)`` is
        round n's requests, sent to both); every app answer must be 200."""
        bare_rates, bot_rates = [], []
        for n in range(rounds):
            requests = batch(n)
            bare_rates.append((await self.bare.saturate(requests, concurrency)).rate)
            run = await self.bot.saturate(requests, concurrency)
            require_ok(run, "the app")
            bot_rates.append(run.rate)
        return median(bare_rates), median(bot_rates)

    async def close(self) -> None:
        self.bare.close()
        self.bot.close()
        for runner in self.runners:
            await runner.cleanup()


# -- the helper processes -------------------------------------------------------------------


async def _run_bare() -> None:
    runner, url = await serve(bare_app())
    print(f"listening on {url}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


async def _run_fakes() -> None:
    from dataclasses import asdict

    from bot.emulator.drive_feishu import FeishuDriver
    from bot.emulator.org import Credentials
    from bot.emulator.web import Emulator

    creds = Credentials.fresh()
    emulator = Emulator(creds)
    feishu = emulator.drivers["feishu"]
    assert isinstance(feishu, FeishuDriver)
    for who in FILING_STAFF:  # the filing workload's applicants, each filing a small draft
        feishu.fake.add_user(f"ou_{who}", who, leader="ou_lisi", departments=["od-market"])
    urls = await emulator.start()
    print(json.dumps({"creds": asdict(creds), "urls": asdict(urls)}), flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(0, 4096) else None)
    await stop.wait()
    await emulator.close()


def main(argv: Sequence[str]) -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    if argv[1:2] == ["bare"]:
        asyncio.run(_run_bare())
    elif argv[1:2] == ["fakes"]:
        asyncio.run(_run_fakes())
    else:
        print("bench/_load.py is the bench scripts' shared module, not a bench")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
