"""An experiment on the real stack: /recommends serves each user through their variant and publishes the list;
the clicks and views the test posts through the API reach Flink, which pairs them with the lists and writes
per-variant counts to Cassandra; the counts must be exactly what the test posted (duplicates, titles that
were not shown and events older than the list excluded, each event counted for the latest list before it),
and the results route must read them."""
from __future__ import annotations

import random
import time
import uuid

import numpy as np
import requests

from benchmarks import simulate_experiment as simulation
from config.registry import EXPERIMENT_COUNTERS
from experiments.stats import totals
from ingest.frames import read_ratings
from tests.integration.conftest import stop_running_experiments, wait_for

RUN = random.randrange(1, 10_000)
NOT_SHOWN = (1, 5, 6, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22)   # catalog titles; the first not in a user's list
USERS = [3_000_000 + RUN * 100 + i for i in range(16)]
SPEC = {"name": f"integration {RUN}: full pipeline vs popularity only",
        "variants": [{"name": "full", "share": 0.5},
                     {"name": "popular", "share": 0.5, "ranker": False, "sources": ["popular"]}]}


def test_the_stream_counts_what_viewers_did_with_each_variants_lists(api_url, admin_key, store):
    headers = {"X-API-Key": admin_key}
    stop_running_experiments(api_url, headers)
    # A list served to the first user before the experiment: the clicks below come later and must count for
    # the latest list served before them (the experiment's), not for this one.
    earlier = requests.get(f"{api_url}/recommends/{USERS[0]}?k=10", headers=headers, timeout=30)
    assert earlier.status_code == 200, earlier.text
    made = requests.post(f"{api_url}/experiments", json=SPEC, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    experiment_id = made.json()["experiment_id"]
    try:
        expected: dict[str, dict] = {}
        events = []
        for user in USERS:
            body = wait_for(lambda: (r := requests.get(f"{api_url}/recommends/{user}?k=10", headers=headers,
                                                       timeout=30).json())["experiment"]["id"] == experiment_id and r)
            items = [i["anime_id"] for i in body["items"]]
            assert len(items) == 10, body
            want = expected.setdefault(body["experiment"]["variant"], {
                "impressions": 0, "items_shown": 0, "clicks": 0, "lists_clicked": 0, "clicks_at_5": 0,
                "clicks_at_10": 0, "rr_sum": 0.0, "views": 0, "ratings": 0})
            want["impressions"] += 1
            want["items_shown"] += len(items)
            now = int(time.time() * 1000)
            click = {"kind": "click", "user_id": user, "anime_id": items[0], "event_id": uuid.uuid4().hex}
            events += [click, dict(click),                                       # the same event twice: once
                       {"kind": "click", "user_id": user, "anime_id": items[6]},  # position 7
                       {"kind": "view", "user_id": user, "anime_id": items[1]},
                       {"kind": "click", "user_id": user, "anime_id": next(a for a in NOT_SHOWN if a not in items)},
                       {"kind": "click", "user_id": user, "anime_id": items[2],   # before the list was served
                        "timestamp": now - 3_600_000}]
            want["clicks"] += 2
            want["lists_clicked"] += 1
            want["clicks_at_5"] += 1
            want["clicks_at_10"] += 2
            want["rr_sum"] += 1 + 1 / 7
            want["views"] += 1
        posted = requests.post(f"{api_url}/events", json={"events": events}, headers=headers, timeout=60)
        assert posted.status_code in (200, 201, 202), posted.text
        assert len(expected) == 2, expected           # 16 users: both variants drew some (p of not: 2 * 2^-16)

        def counted(seen: list) -> bool:
            got = totals(store.experiment_metrics(experiment_id))
            rows = {v: {k: (round(c, 6) if isinstance(c, float) else c) for k, c in got.get(v, {}).items()
                        if k in expected[v]} for v in expected}
            seen.append(rows)
            return all(rows[v] == {k: (round(c, 6) if isinstance(c, float) else c) for k, c in expected[v].items()}
                       for v in expected)

        seen: list = []
        wait_for(lambda: counted(seen), timeout_s=180, interval_s=1, seen=seen)
        assert all(totals(store.experiment_metrics(experiment_id))[v]["titles_shown"] > 0 for v in expected)
        results = requests.get(f"{api_url}/experiments/{experiment_id}/results", headers=headers, timeout=30)
        assert results.status_code == 200
        by_variant = {v["variant"]: v for v in results.json()["variants"]}
        assert {v: by_variant[v]["impressions"] for v in expected} == {v: e["impressions"] for v, e in expected.items()}
        assert all(by_variant[v]["ctr"] == 1.0 for v in expected)
    finally:
        requests.post(f"{api_url}/experiments/{experiment_id}/stop", headers=headers, timeout=30)
        time.sleep(6)   # every API worker drops its cached experiment within 5 s


def test_a_small_simulation_is_counted_exactly_as_it_played(api_url, admin_key, store, settings):
    """The simulation of benchmarks/simulate_experiment.py in small (20 viewers, 2 rounds): the stream's counts
    per variant must equal the ledger of what the viewers were served and clicked."""
    headers = {"X-API-Key": admin_key}
    rng = np.random.default_rng(RUN)
    people = simulation.viewers(read_ratings(settings.ratings_csv), 20, rng, offset=500_000_000 + RUN * 100_000)
    simulation.post_events(api_url, headers, people.known)
    stop_running_experiments(api_url, headers)
    made = requests.post(f"{api_url}/experiments", json={**simulation.SPEC, "name": f"simulation {RUN}"},
                         headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    experiment_id = made.json()["experiment_id"]
    ledger = simulation.Ledger()
    try:
        time.sleep(6)      # every API worker sees the new experiment
        clicks = sum(simulation.play_round(api_url, headers, people, rng, experiment_id, ledger) for _ in range(2))
        assert clicks > 0 and set(ledger.counts) == {"full", "popular"}, ledger.counts

        def rounded(counts: dict) -> dict:
            return {c: round(x, 6) for c, x in counts.items() if c in EXPERIMENT_COUNTERS}

        seen: list = []
        want = {v: rounded(c) for v, c in ledger.counts.items()}
        wait_for(lambda: seen.append(got := {v: rounded(c) for v, c in
                                             totals(store.experiment_metrics(experiment_id)).items()}) or got == want,
                 timeout_s=180, interval_s=1, seen=seen)
    finally:
        requests.post(f"{api_url}/experiments/{experiment_id}/stop", headers=headers, timeout=30)
        time.sleep(6)
