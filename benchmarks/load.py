"""Load generators for the serving benchmark: wrk (closed loop, the most a route serves) and an
open-loop client (a fixed request rate; each latency counted from the request's scheduled start,
so a server that falls behind is charged for the queue it builds, not only for its service time).
"""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import numpy as np

from config import PROJECT_ROOT, Settings
from ingest.frames import read_anime, read_ratings
from ingest.poster import ApiPoster
from ingest.replay import Clock, as_events, genre_lookup, publish, replay_events
from ops.stack import ensure_credentials

WRK_SCRIPT = Path(__file__).with_name("wrk") / "requests.lua"
VEGETA = PROJECT_ROOT / ".cache" / "bin" / "vegeta"


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it)")
    return found


def vegeta_binary() -> str:
    """vegeta (a Go module: ``make bench`` installs it with ``go install``), the fixed-rate load generator."""
    found = shutil.which("vegeta") or (str(VEGETA) if VEGETA.exists() else None)
    if found is None:
        raise SystemExit(f"vegeta is not installed: make bench installs it into {VEGETA.parent}")
    return found


def replay_load(settings: Settings, key: str | None, rate: float, stop: threading.Event, user_base: int,
                batch: int = 50) -> threading.Thread:
    """Post the replay of the real ratings (ingest/replay.py) through ``POST /events`` at ``rate`` events/s in a
    background thread until ``stop`` is set, as users ``user_base + user_id`` on a clock ending a day before now
    (so its events move no event-time window). The thread, started."""
    ratings = read_ratings(settings.ratings_csv)
    ratings = ratings.assign(user_id=ratings["user_id"] + user_base)
    events = replay_events(ratings, Clock(seed=user_base % 10_000,
                                          start_ms=int(time.time() * 1000) - 29 * 86_400_000))
    stream = as_events(events, genre_lookup(read_anime(settings.anime_csv)))
    poster = ApiPoster(settings.api_url, workers=4, batch=batch, api_key=key)

    def until_stopped():
        for event in stream:
            if stop.is_set():
                return
            yield event

    thread = threading.Thread(target=lambda: (publish(until_stopped(), poster.send, rate), poster.close()),
                              name="replay-load", daemon=True)
    thread.start()
    return thread


def api_key(settings: Settings) -> str | None:
    """The stack's admin key (``make up`` makes it), sent by every benchmark request; None with auth off."""
    if settings.auth == "off":
        return None
    return ensure_credentials(settings, report=lambda message: print(message, flush=True)).read_text().strip()


def wrk(url: str, requests: Sequence[str], *, connections: int = 8, seconds: float = 10.0, threads: int = 2,
        key: str | None = None, header: str | None = None) -> dict:
    """Run wrk against ``url`` cycling through ``requests`` (``"METHOD /path [json body]"`` lines), each with
    ``header`` (``"Name: value"``) too when given.

    Returns ``{requests, seconds, per_s, ok, status_4xx, status_5xx, socket_errors, p50_ms, p90_ms, p99_ms,
    max_ms}``; ``per_s`` counts 2xx answers only.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(requests) + "\n")
        listing = fh.name
    try:
        done = subprocess.run([wrk_binary(), f"-t{min(threads, connections)}", f"-c{connections}",
                               f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(WRK_SCRIPT), url, "--",
                               listing, key or "", header or ""], capture_output=True, text=True,
                              timeout=seconds + 60)
    finally:
        Path(listing).unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no report (exit {done.returncode}): {done.stderr.strip() or done.stdout}")
    result = json.loads(line[len("WRK_JSON "):])
    result["per_s"] = result["ok"] / result["seconds"] if result["seconds"] else 0.0
    return result


async def _open_loop(url: str, paths: Sequence[str], rate: float, seconds: float, timeout_s: float,
                     key: str | None) -> dict:
    n = int(rate * seconds)
    latencies = np.full(n, np.nan)
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s),
                                     headers={"X-API-Key": key} if key else None) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(i: int) -> None:
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with session.get(url + paths[i % len(paths)]) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status < 300:
                        latencies[i] = loop.time() - scheduled
            except (aiohttp.ClientError, asyncio.TimeoutError):
                statuses[0] = statuses.get(0, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - began
    ok = latencies[~np.isnan(latencies)] * 1000
    return {"requests": n, "rate": rate, "seconds": wall, "ok": int(len(ok)), "statuses": statuses,
            "p50_ms": float(np.percentile(ok, 50)) if len(ok) else float("nan"),
            "p99_ms": float(np.percentile(ok, 99)) if len(ok) else float("nan"),
            "max_ms": float(ok.max()) if len(ok) else float("nan")}


def open_loop(url: str, paths: Sequence[str], *, rate: float, seconds: float = 20.0, timeout_s: float = 10.0,
              key: str | None = None) -> dict:
    """GET ``paths`` (cycled) at a fixed ``rate`` for ``seconds``, whatever the answers take.

    Returns ``{requests, rate, seconds, ok, statuses, p50_ms, p99_ms, max_ms}``, latencies of 2xx answers from
    each request's scheduled start.
    """
    return asyncio.run(_open_loop(url, list(paths), rate, seconds, timeout_s, key))
