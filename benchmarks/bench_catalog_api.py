"""Latency of the catalog query API (GET /anime and friends) beside the API's own /health, same run.

Needs a running API (``make up``, or gunicorn on another port: ``--url http://127.0.0.1:8100``);
sequential requests over one keep-alive connection, each checked for a 200.
"""
from __future__ import annotations

import argparse
import random

import numpy as np
import requests

from benchmarks.timing import getter, measure, print_table, summary
from benchmarks.load import api_key
from config import load_settings

EXAMPLE = "/anime?mt_episodes=200&lt_episodes=300&mt_rating=7&mt_members=1000&genre=Drama"
GENRES = ("Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Fantasy", "School", "Shounen")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500, help="timed requests per route")
    parser.add_argument("--url", default=load_settings().api_url)
    parser.add_argument("--example-only", action="store_true", help="only /health and the example filter")
    args = parser.parse_args(argv)
    session = requests.Session()
    key = api_key(load_settings())
    if key:
        session.headers["X-API-Key"] = key
    rng = random.Random(7)

    def get(path_fn):
        return getter(session, args.url, path_fn)

    routes = [("GET /health (reference)", lambda: "/health"),
              ("GET /anime?<example filter>", lambda: EXAMPLE)]
    if not args.example_only:
        users = [u for u in range(1, 120) if session.get(f"{args.url}/user?user_id={u}", timeout=30).ok] or [1]
        routes += [
            ("GET /anime (no params: about + page 1)", lambda: "/anime"),
            ("GET /anime?2 genres,type,-rating,limit=100",
             lambda: f"/anime?genre={rng.choice(GENRES)}&genre={rng.choice(GENRES)}&type=TV&sort=-rating&limit=100"),
            ("GET /anime?q=<text>&sort=name", lambda: f"/anime?q={rng.choice(['bebop', 'gundam', 'no', 'a'])}&sort=name"),
            ("GET /anime/<id>", lambda: f"/anime/{rng.choice([1, 20, 5114, 9253, 32281])}"),
            ("GET /user?user_id&mt_rating&lt_rating", lambda: f"/user?user_id={rng.choice(users)}"
                                                              "&mt_rating=5&lt_rating=9"),
        ]
    # Interleave: every route is measured in rounds through the same run, so drift hits all alike.
    rounds, per_round = 5, max(1, args.n // 5)
    times = {name: [] for name, _ in routes}
    for _ in range(rounds):
        for name, path_fn in routes:
            times[name].append(measure(get(path_fn), per_round, warmup=3))
    rows = [summary(name, np.concatenate(times[name])) for name, _ in routes]
    print_table(f"Catalog API latency at {args.url} (sequential, keep-alive)", rows)


if __name__ == "__main__":
    main()
