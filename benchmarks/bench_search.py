"""GET /search on the running stack: hit@5 of the labelled queries (tests/data/search_queries.json) and the
latency of each mode at a fixed rate (open loop), beside /health measured the same way in the same run."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import quote

import requests

from benchmarks.load import api_key, open_loop
from config import load_settings

QUERIES = Path(__file__).resolve().parents[1] / "tests" / "data" / "search_queries.json"
MODES = ("keyword", "semantic", "hybrid")
RATE, SECONDS = 50.0, 20.0


def hit_at_5(url: str, queries: list[dict], mode: str) -> dict[str, str]:
    found: dict[str, list[int]] = {}
    for q in queries:
        answer = requests.get(f"{url}/search", params={"q": q["q"], "k": 5, "mode": mode}, timeout=30)
        answer.raise_for_status()
        hit = bool({i["anime_id"] for i in answer.json()["items"]} & set(q["expect"]))
        found.setdefault(q["kind"], []).append(hit)
    return {kind: f"{sum(hits)}/{len(hits)}" for kind, hits in found.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=RATE, help="open-loop request rate")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args(argv)
    settings = load_settings()
    url, key = settings.api_url, api_key(settings)
    queries = json.loads(QUERIES.read_text())["queries"]
    print(f"open loop: {args.rate:g} req/s for {args.seconds:g} s, latency from each request's scheduled start")
    health = open_loop(url, ["/health"], rate=args.rate, seconds=args.seconds, key=key)
    print(f"  {'GET /health (reference)':<34} p50 {health['p50_ms']:7.1f} ms  p99 {health['p99_ms']:7.1f} ms"
          f"  {health['ok']}/{health['requests']} 2xx")
    for mode in MODES:
        paths = [f"/search?q={quote(q['q'])}&k=10&mode={mode}" for q in queries]
        r = open_loop(url, paths, rate=args.rate, seconds=args.seconds, key=key)
        print(f"  {f'GET /search mode={mode}':<34} p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms"
              f"  {r['ok']}/{r['requests']} 2xx   hit@5 {hit_at_5(url, queries, mode)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
