"""The SYNTHETIC workload generators."""
import pandas as pd

from evaluation.synthetic import clustered_interactions, synthetic_ratings


def test_synthetic_ratings_follow_the_sample_per_user_and_per_title():
    sample = clustered_interactions(n_users=30, seed=2)
    synth = synthetic_ratings(sample, n_users=50, seed=3)
    assert sorted(synth["user_id"].unique().tolist()) == list(range(1, 51))
    assert not synth.duplicated(["user_id", "anime_id"]).any()
    assert set(synth.groupby("user_id").size()) <= set(sample.groupby("user_id").size())   # copied lengths
    observed = set(zip(sample["anime_id"], sample["rating"]))
    assert set(zip(synth["anime_id"], synth["rating"])) <= observed     # each title's own scores, -1 included
    pd.testing.assert_frame_equal(synth, synthetic_ratings(sample, n_users=50, seed=3))
