"""``python -m benchmarks.simulate_experiment``: an A/B test of the full pipeline against popularity only, run
end to end on the live stack with simulated viewers whose clicks follow their real held-out ratings.

Each simulated viewer is a real user of the ratings file under a fresh id: half of their ratings (seeded
split) are posted through ``POST /events`` as rating events (what the platform knows), the other half are
held out (what they would like). The batch jobs then run again (``--build``, default: the per-user recall
lists), so the full pipeline knows the viewers as it knows every user of the last build. In each round every viewer asks ``/recommends`` for 10 titles and clicks a
shown title they rated r at position p with probability ``(r / 10) ** 2 / log2(p + 1)`` (0 for titles they
did not rate): a liked title near the top is clicked most. Clicks go through ``POST /events``; Flink pairs them
with the served lists; the script reads ``/experiments/<id>/results`` after every round and stops once one
variant is significantly ahead (or after ``--rounds``), printing the table. Every round also keeps a ledger of
what it served and clicked, per variant, in the stream's own terms: what the results must add up to
(the integration test runs a small simulation and compares them exactly).
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import requests

from benchmarks.load import api_key
from config import load_settings
from config.registry import EXPERIMENT_COUNTERS
from ingest.frames import read_ratings

USER_OFFSET = 200_000_000
SPEC = {"name": "simulation: full pipeline vs popularity only",
        "variants": [{"name": "full", "share": 0.5},
                     {"name": "popular", "share": 0.5, "ranker": False, "sources": ["popular"]}]}
BATCH = 1000


def click_probability(rating: int, position: int) -> float:
    return 0.0 if rating <= 0 else (rating / 10) ** 2 / math.log2(position + 1)


@dataclass
class Viewers:
    """Simulated viewers: what each has rated through the API (``known``) and would like (``held_out``)."""
    held_out: dict[int, dict[int, int]]
    known: list[dict]


def viewers(ratings: pd.DataFrame, n_users: int, rng: np.random.Generator, offset: int = USER_OFFSET,
            min_ratings: int = 20) -> Viewers:
    rated = ratings[ratings["rating"] > 0]
    counts = rated.groupby("user_id").size()
    users = rng.choice(counts[counts >= min_ratings].index.to_numpy(), size=n_users, replace=False)
    held_out: dict[int, dict[int, int]] = {}
    known = []
    for user in users:
        rows = rated[rated["user_id"] == user].sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        half = len(rows) // 2
        sim = offset + int(user)
        held_out[sim] = dict(zip(rows["anime_id"].iloc[half:].astype(int), rows["rating"].iloc[half:].astype(int)))
        known += [{"kind": "rating", "user_id": sim, "anime_id": int(a), "rating": int(r)}
                  for a, r in zip(rows["anime_id"].iloc[:half], rows["rating"].iloc[:half])]
    return Viewers(held_out, known)


def post_events(url: str, headers: dict, events: list[dict]) -> None:
    for start in range(0, len(events), BATCH):
        requests.post(f"{url}/events", json={"events": events[start:start + BATCH]}, headers=headers,
                      timeout=60).raise_for_status()


@dataclass
class Ledger:
    """Per variant, what was served in the experiment and clicked: the counters the stream must reach."""
    counts: dict[str, dict] = field(default_factory=dict)

    def served(self, variant: str, items: int) -> None:
        into = self.counts.setdefault(variant, {c: 0 for c in EXPERIMENT_COUNTERS})
        into["impressions"] += 1
        into["items_shown"] += items

    def clicked(self, variant: str, positions: list[int]) -> None:
        into = self.counts[variant]
        into["clicks"] += len(positions)
        into["lists_clicked"] += bool(positions)
        into["clicks_at_5"] += sum(p <= 5 for p in positions)
        into["clicks_at_10"] += sum(p <= 10 for p in positions)
        into["rr_sum"] += sum(1 / p for p in positions)


def play_round(url: str, headers: dict, people: Viewers, rng: np.random.Generator, experiment_id: str,
               ledger: Ledger, k: int = 10) -> int:
    """Every viewer asks for a list and clicks what they like in it; the clicks are posted after all lists
    were served (so each click's latest list is the one it was shown in). Lists served outside the experiment
    (before every API worker saw it) are not in the ledger. The number of clicks posted."""
    clicks = []
    for sim, truth in people.held_out.items():
        body = requests.get(f"{url}/recommends/{sim}?k={k}", headers=headers, timeout=30).json()
        positions = [p for p, item in enumerate(body["items"], start=1)
                     if rng.random() < click_probability(truth.get(item["anime_id"], 0), p)]
        clicks += [{"kind": "click", "user_id": sim, "anime_id": body["items"][p - 1]["anime_id"]} for p in positions]
        if body["experiment"]["id"] == experiment_id:
            ledger.served(body["experiment"]["variant"], len(body["items"]))
            ledger.clicked(body["experiment"]["variant"], positions)
    post_events(url, headers, clicks)
    return len(clicks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settle-s", type=float, default=5.0, help="wait for the stream after each round")
    parser.add_argument("--build", nargs="*", default=["ease", "als", "itemitem", "content"],
                        help="batch jobs run after the known ratings are in (none: the viewers stay unknown to "
                             "the batch lists, as brand-new users)")
    args = parser.parse_args(argv)
    settings = load_settings()
    key = api_key(settings)
    url, headers = settings.api_url, ({"X-API-Key": key} if key else {})
    rng = np.random.default_rng(args.seed)
    people = viewers(read_ratings(settings.ratings_csv), args.users, rng)
    post_events(url, headers, people.known)
    print(f"{len(people.held_out)} simulated viewers, {len(people.known)} known ratings posted, "
          f"{sum(len(h) for h in people.held_out.values())} held out")
    time.sleep(args.settle_s)
    if args.build:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "batch", "run", *args.build], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"batch jobs {' '.join(args.build)} rebuilt in {time.monotonic() - started:.0f} s", flush=True)
        time.sleep(2)      # the API re-reads the list pointers every second
    made = requests.post(f"{url}/experiments", json=SPEC, headers=headers, timeout=30)
    made.raise_for_status()
    experiment_id = made.json()["experiment_id"]
    time.sleep(6)      # every API worker sees a new experiment within 5 s
    ledger, results = Ledger(), {}
    started = time.monotonic()
    try:
        for round_ in range(1, args.rounds + 1):
            clicks = play_round(url, headers, people, rng, experiment_id, ledger)
            time.sleep(args.settle_s)
            results = requests.get(f"{url}/experiments/{experiment_id}/results", headers=headers, timeout=30).json()
            line = "  ".join(f"{v['variant']}: {v['lists_clicked']}/{v['impressions']} lists clicked "
                             f"(CTR {v['ctr'] or 0:.3f}, 95 % CI {v['ctr_ci95'][0]:.3f}-{v['ctr_ci95'][1]:.3f})"
                             for v in results["variants"])
            print(f"round {round_}: {clicks} clicks posted; {line}; "
                  f"ahead: {results['significantly_better']}", flush=True)
            if results["significantly_better"]:
                break
    finally:
        requests.post(f"{url}/experiments/{experiment_id}/stop", headers=headers, timeout=30)
    print(f"\n{round_} rounds in {time.monotonic() - started:.0f} s; experiment {experiment_id}")
    print("| variant | lists | lists clicked | CTR (95 % CI) | clicks@5 / list | MRR of clicks | coverage |")
    print("|---|---|---|---|---|---|---|")
    for v in results.get("variants", []):
        print(f"| {v['variant']} | {v['impressions']} | {v['lists_clicked']} | {v['ctr'] or 0:.3f} "
              f"({v['ctr_ci95'][0]:.3f}-{v['ctr_ci95'][1]:.3f}) | {v['clicks_at_5_per_list'] or 0:.3f} | "
              f"{v['mrr_of_clicks'] or 0:.3f} | {v['coverage'] or 0:.3f} |")
    versus = results.get("variants", [{}, {}])[1].get("vs_control", {})
    print(f"popular vs full: difference {versus.get('difference')}, p = {versus.get('p_value')}; "
          f"sample ratio p = {results.get('sample_ratio', {}).get('p_value')}; "
          f"significantly better: {results.get('significantly_better')}")
    streamed = {v["variant"]: {c: v[c] for c in EXPERIMENT_COUNTERS} for v in results.get("variants", [])}
    exact = all({c: round(x, 6) for c, x in streamed.get(v, {}).items()} == {c: round(x, 6) for c, x in want.items()}
                for v, want in ledger.counts.items())
    print(f"the stream's counts {'equal' if exact else 'DIFFER FROM'} the ledger of what was served and clicked")
    return 0 if results.get("significantly_better") else 1


if __name__ == "__main__":
    raise SystemExit(main())
