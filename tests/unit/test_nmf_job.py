"""The NMF list (recall/nmf.py, batch/nmf.py): unscored watches imputed, seen titles never listed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from batch import nmf as job
from recall import nmf


def test_an_unscored_watch_becomes_the_users_mean_score_or_the_global_mean():
    ratings = sp.csr_matrix(np.array([[8, -1, 6, 0], [-1, -1, 0, 0], [0, 0, 10, 4]], dtype=np.float32))
    out = nmf.impute_unscored(ratings).toarray()
    global_mean = (8 + 6 + 10 + 4) / 4
    assert out[0].tolist() == [8, 7, 6, 0]
    assert out[1].tolist() == [global_mean, global_mean, 0, 0]
    assert out[2].tolist() == [0, 0, 10, 4] and ratings.toarray()[0, 1] == -1     # the input is not changed


def test_every_user_gets_k_unseen_titles_ranked_by_the_reconstruction():
    rng = np.random.default_rng(3)
    rows = [(u, a, int(rng.choice([-1, 5, 8, 10]))) for u in range(1, 41) for a in rng.choice(60, 12, replace=False)]
    ratings = pd.DataFrame(rows, columns=["user_id", "anime_id", "rating"]).drop_duplicates(["user_id", "anime_id"])
    out = job.candidates(ratings, k=10)
    assert set(out["source"]) == {"nmf"} and out.groupby("user_id").size().eq(10).all()
    seen = set(zip(ratings["user_id"], ratings["anime_id"]))
    assert not any((u, a) in seen for u, a in zip(out["user_id"], out["anime_id"]))
    for _, group in out.groupby("user_id"):
        assert group["rank"].tolist() == list(range(1, 11)) and group["score"].is_monotonic_decreasing
    assert job.candidates(ratings.iloc[:0], k=10).empty
