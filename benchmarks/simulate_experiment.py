"""``python -m benchmarks.simulate_experiment``: an A/B test of the full pipeline against popularity only, run
end to end on the live stack with simulated viewers whose clicks follow their real held-out ratings.

Each simulated viewer is a real user of the ratings file under a fresh id: half of their ratings (seeded
split) are posted through ``POST /events`` as rating events (what the platform knows), the other half are
held out (what they would like). In each round every viewer asks ``/recommends`` for 10 titles and clicks a
shown title they rated r at position p with probability ``(r / 10) ** 2 / log2(p + 1)`` (0 for titles they
did not rate): a liked title near the top is clicked most. Clicks go through ``POST /events``; Flink pairs them
with the served lists; the script reads ``/experiments/<id>/results`` after every round and stops once one
variant is significantly ahead (or after ``--rounds``), printing the table.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import requests

from benchmarks.load import api_key
from config import load_settings
from ingest.frames import read_ratings

USER_OFFSET = 200_000_000
SPEC = {"name": "simulation: full pipeline vs popularity only",
        "variants": [{"name": "full", "share": 0.5},
                     {"name": "popular", "share": 0.5, "ranker": False, "sources": ["popular"]}]}


def click_probability(rating: int, position: int) -> float:
    return 0.0 if rating <= 0 else (rating / 10) ** 2 / math.log2(position + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settle-s", type=float, default=5.0, help="wait for the stream after each round")
    args = parser.parse_args(argv)
    settings = load_settings()
    key = api_key(settings)
    url, headers = settings.api_url, ({"X-API-Key": key} if key else {})
    rng = np.random.default_rng(args.seed)
    ratings = read_ratings(settings.ratings_csv)
    ratings = ratings[ratings["rating"] > 0]
    counts = ratings.groupby("user_id").size()
    users = rng.choice(counts[counts >= 20].index.to_numpy(), size=args.users, replace=False)
    held_out: dict[int, dict[int, int]] = {}
    known = []
    for user in users:
        rows = ratings[ratings["user_id"] == user].sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        half = len(rows) // 2
        sim = USER_OFFSET + int(user)
        held_out[sim] = dict(zip(rows["anime_id"].iloc[half:].astype(int), rows["rating"].iloc[half:].astype(int)))
        known += [{"kind": "rating", "user_id": sim, "anime_id": int(a), "rating": int(r)}
                  for a, r in zip(rows["anime_id"].iloc[:half], rows["rating"].iloc[:half])]
    for start in range(0, len(known), 1000):
        requests.post(f"{url}/events", json={"events": known[start:start + 1000]}, headers=headers,
                      timeout=60).raise_for_status()
    print(f"{len(users)} simulated viewers, {len(known)} known ratings posted, "
          f"{sum(len(h) for h in held_out.values())} held out")
    time.sleep(args.settle_s)
    made = requests.post(f"{url}/experiments", json=SPEC, headers=headers, timeout=30)
    made.raise_for_status()
    experiment_id = made.json()["experiment_id"]
    results = {}
    try:
        for round_ in range(1, args.rounds + 1):
            clicks = []
            for sim, truth in held_out.items():
                body = requests.get(f"{url}/recommends/{sim}?k=10", headers=headers, timeout=30).json()
                for position, item in enumerate(body["items"], start=1):
                    if rng.random() < click_probability(truth.get(item["anime_id"], 0), position):
                        clicks.append({"kind": "click", "user_id": sim, "anime_id": item["anime_id"]})
            for start in range(0, len(clicks), 1000):
                requests.post(f"{url}/events", json={"events": clicks[start:start + 1000]}, headers=headers,
                              timeout=60).raise_for_status()
            time.sleep(args.settle_s)
            results = requests.get(f"{url}/experiments/{experiment_id}/results", headers=headers, timeout=30).json()
            line = "  ".join(f"{v['variant']}: {v['lists_clicked']}/{v['impressions']} lists clicked "
                             f"(CTR {v['ctr'] or 0:.3f}, 95 % CI {v['ctr_ci95'][0]:.3f}-{v['ctr_ci95'][1]:.3f})"
                             for v in results["variants"])
            print(f"round {round_}: {len(clicks)} clicks posted; {line}; "
                  f"ahead: {results['significantly_better']}", flush=True)
            if results["significantly_better"]:
                break
    finally:
        requests.post(f"{url}/experiments/{experiment_id}/stop", headers=headers, timeout=30)
    print("\n| variant | lists | lists clicked | CTR (95 % CI) | clicks@5 / list | MRR of clicks | coverage |")
    print("|---|---|---|---|---|---|---|")
    for v in results.get("variants", []):
        print(f"| {v['variant']} | {v['impressions']} | {v['lists_clicked']} | {v['ctr'] or 0:.3f} "
              f"({v['ctr_ci95'][0]:.3f}-{v['ctr_ci95'][1]:.3f}) | {v['clicks_at_5_per_list'] or 0:.3f} | "
              f"{v['mrr_of_clicks'] or 0:.3f} | {v['coverage'] or 0:.3f} |")
    versus = results.get("variants", [{}, {}])[1].get("vs_control", {})
    print(f"popular vs full: difference {versus.get('difference')}, p = {versus.get('p_value')}; "
          f"sample ratio p = {results.get('sample_ratio', {}).get('p_value')}; "
          f"significantly better: {results.get('significantly_better')}")
    return 0 if results.get("significantly_better") else 1


if __name__ == "__main__":
    raise SystemExit(main())
