"""Latency of the running API's routes, side by side with its own /health in the same run.

Needs the stack up (``make up``); sequential requests over one keep-alive connection.
"""
from __future__ import annotations

import argparse
import random

import requests

from benchmarks.timing import getter, measure, print_table, summary
from benchmarks.load import api_key
from config import load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--url", default=load_settings().api_url)
    args = parser.parse_args(argv)
    session = requests.Session()
    key = api_key(load_settings())
    if key:
        session.headers["X-API-Key"] = key
    rng = random.Random(7)

    def get(path_fn):
        return getter(session, args.url, path_fn)

    def click():
        response = session.post(args.url + "/clicks", json={"user_id": rng.randint(1, 5000), "anime_id": 5114},
                                timeout=30)
        response.raise_for_status()

    rows = [summary("GET /health (reference)", measure(get(lambda: "/health"), args.n)),
            summary("GET /anime/<id>", measure(get(lambda: f"/anime/{rng.choice([1, 20, 5114, 9253, 32281])}"), args.n)),
            summary("GET /anime?<example filter>", measure(get(lambda: "/anime?mt_episodes=200&lt_episodes=300"
                                                                     "&mt_rating=7&mt_members=1000&genre=Drama"), args.n)),
            summary("GET /recall/<user>?k=100", measure(get(lambda: f"/recall/{rng.randint(1, 5000)}?k=100"), args.n)),
            summary("GET /recommends/<user>?k=10", measure(get(lambda: f"/recommends/{rng.randint(1, 5000)}?k=10"), args.n)),
            summary("POST /clicks (until Kafka acks)", measure(click, args.n))]
    print_table(f"API latency at {args.url} (sequential, keep-alive)", rows)


if __name__ == "__main__":
    main()
