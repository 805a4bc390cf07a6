"""A fixed-rate (open-loop) HTTP load generator on asyncio.

wrk is closed-loop: each connection sends its next request only when answered, so a slow
server gets less load and its stalls hide from the percentiles (coordinated omission).
Here request k is due at start + k / rate whatever happened before, on user k mod n's own
keep-alive connection (each user's cookie), and its latency is measured from when it was
due, so time spent queued behind a slow answer counts.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from benchmarks.app_bench import USER_AGENT  # the User-Agent the users signed in with, as a browser keeps it


@dataclass
class LoadResult:
    """What a fixed-rate run produced; latencies in ms, from each request's due time."""

    due: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    @property
    def answered(self) -> int:
        return len(self.latencies_ms)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server keeps the connection open) of one HTTP/1.1 answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() != "close"


def _check(status: int, body: bytes, expect: dict[str, object]) -> str | None:
    """None when the answer is right, else what was wrong."""
    if status != 200:
        return f"HTTP {status}"
    try:
        data = json.loads(body)
    except ValueError:
        return "not JSON"
    wrong = [k for k, v in expect.items() if data.get(k) != v]
    return f"unexpected {','.join(wrong)}" if wrong else None


async def _user(url: str, cookie: str, queue: asyncio.Queue, result: LoadResult, expect: dict[str, object],
                timeout: float) -> None:
    parts = urlsplit(url)
    request = (f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"User-Agent: {USER_AGENT}\r\nCookie: {cookie}\r\nAccept: application/json\r\n\r\n").encode()
    reader = writer = None
    while (due := await queue.get()) is not None:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(request)
            status, body, keep = await asyncio.wait_for(_read_response(reader), timeout)
            result.latencies_ms.append((time.monotonic() - due) * 1000)
            problem = _check(status, body, expect)
            if problem:
                result.errors[problem] += 1
            if not keep:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            result.errors[type(exc).__name__] += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _run(url: str, cookies: list[str], rate: float, seconds: float, expect: dict[str, object],
               timeout: float) -> LoadResult:
    total = int(rate * seconds)
    result = LoadResult(due=total)
    queues: list[asyncio.Queue] = [asyncio.Queue() for _ in cookies]
    users = [asyncio.create_task(_user(url, cookie, q, result, expect, timeout)) for cookie, q in zip(cookies, queues)]
    start = time.monotonic()
    for k in range(total):
        due = start + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queues[k % len(queues)].put_nowait(due)
    for q in queues:
        q.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*users), timeout + 5)
    result.seconds = time.monotonic() - start
    return result


def fixed_rate(url: str, cookies: list[str], rate: float, seconds: float, expect: dict[str, object],
               timeout: float = 10.0) -> LoadResult:
    """GET `url` at `rate` requests/s for `seconds`, spread over one connection per cookie; every
    answer must be a 200 JSON object holding `expect`."""
    return asyncio.run(_run(url, cookies, rate, seconds, expect, timeout))
