import numpy as np
import pandas as pd
import pytest

from recall.popularity import popular_lists, recency_weight, score_titles

WATCHES = pd.DataFrame({"anime_id": [1, 2, 3], "watches": [10, 6, 3]})


def test_watch_share_ranks_titles():
    scores = score_titles(WATCHES).set_index("anime_id")["score"]
    assert scores[1] > scores[2] > scores[3]
    assert scores[2] == pytest.approx(6 / 19)


def test_recency_weight_halves_every_half_life():
    w = recency_weight([0, 3600, 7200, -50], half_life_hours=1)
    assert np.allclose(w, [1, 0.5, 0.25, 1])


def test_recent_events_surface_a_trending_title():
    # 100 events an hour ago beat 1000 events a month ago
    recent = pd.DataFrame({"anime_id": [3, 1], "recent": [100 * recency_weight(3600, 24),
                                                           1000 * recency_weight(30 * 86400, 24)]})
    ranked = score_titles(WATCHES, recent, trend_weight=0.5).sort_values("score", ascending=False)
    assert ranked["anime_id"].iloc[0] == 3
    # a title with events and no ratings yet gets a score too
    fresh = score_titles(WATCHES, pd.DataFrame({"anime_id": [99], "recent": [5.0]}))
    assert 99 in set(fresh["anime_id"])


def test_no_events_fall_back_to_watch_share():
    empty = pd.DataFrame({"anime_id": pd.Series([], dtype=int), "recent": pd.Series([], dtype=float)})
    pd.testing.assert_frame_equal(score_titles(WATCHES, empty), score_titles(WATCHES, None))


def test_lists_per_segment_are_ranked_and_capped():
    anime = pd.DataFrame({"anime_id": [1, 2, 3], "genres": [["Action", " Drama"], ["Action"], None]})
    lists = popular_lists(score_titles(WATCHES), anime, list_size=2)
    by_segment = {seg: list(zip(g["rank"], g["anime_id"])) for seg, g in lists.groupby("segment")}
    assert by_segment == {"all": [(1, 1), (2, 2)], "genre:Action": [(1, 1), (2, 2)], "genre:Drama": [(1, 1)]}
