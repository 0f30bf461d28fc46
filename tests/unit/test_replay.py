"""The replay's synthetic clock: seeded, a view per rated title before its rating, clicks for a share."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.replay import Clock, ending_at, replay_events


def _ratings(users=30, titles=40, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(u, int(a), int(rng.choice([-1, 3, 7, 10]))) for u in range(1, users + 1)
            for a in rng.choice(np.arange(1, titles + 1), 12, replace=False)]
    return pd.DataFrame(rows, columns=["user_id", "anime_id", "rating"])


def test_the_same_seed_gives_the_same_stream_and_another_seed_other_ids():
    ratings = _ratings()
    first, again = replay_events(ratings, Clock(seed=3)), replay_events(ratings, Clock(seed=3))
    pd.testing.assert_frame_equal(first, again)
    other = replay_events(ratings, Clock(seed=4))
    assert not set(first["event_id"]) & set(other["event_id"])


def test_every_rated_title_is_viewed_then_rated_and_a_share_clicked_in_time_order():
    ratings = _ratings()
    events = replay_events(ratings, Clock(seed=3, rating_after_min=25.0))
    assert events["timestamp"].is_monotonic_increasing and events["event_id"].is_unique
    by_kind = {k: g.set_index(["user_id", "anime_id"]) for k, g in events.groupby("kind")}
    assert len(by_kind["view"]) == len(by_kind["rating"]) == len(ratings)
    assert ((by_kind["rating"]["timestamp"] - by_kind["view"]["timestamp"]) == 25 * 60_000).all()
    clicks = by_kind["click"]
    assert 0 < len(clicks) < len(ratings)
    assert (clicks["timestamp"] > by_kind["view"].loc[clicks.index, "timestamp"]).all()
    merged = ratings.set_index(["user_id", "anime_id"])["rating"]
    assert (by_kind["rating"]["rating"].astype(int) == merged.loc[by_kind["rating"].index]).all()


def test_a_stream_moved_to_end_now_keeps_its_ids_and_gaps():
    events = replay_events(_ratings(), Clock(seed=3))
    moved = ending_at(events, 2_000_000_000_000)
    assert moved["timestamp"].max() == 2_000_000_000_000
    assert moved["event_id"].tolist() == events["event_id"].tolist()
    assert (moved["timestamp"].diff().fillna(0) == events["timestamp"].diff().fillna(0)).all()
