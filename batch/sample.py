"""Read the shared anime CSVs and load them into a (scratch) keyspace; synthesise larger workloads.

Used by the integration tests and the benchmark. Parsing and loading are ingest's
(:mod:`ingest.csv_rows`, :mod:`ingest.catalog`); this adds frames for in-memory work and a
synthetic-workload generator.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from infra.config import Settings
from ingest.catalog import load_many
from ingest.csv_rows import parse


def read_anime(path: Path) -> pd.DataFrame:
    """The catalog as a frame (``anime_id, name, genres, type, episodes, rating, members``), cleaned."""
    return pd.DataFrame(list(parse(path, "anime")))


def read_synopses(path: Path) -> dict[int, str]:
    return {a: text for a, text in parse(path, "synopsis") if text}


def read_catalog(settings: Settings, anime_csv: Path | None = None, synopsis_csv: Path | None = None) -> pd.DataFrame:
    """Catalog plus ``synopsis`` column, as the content job reads it from Cassandra (files default to settings)."""
    anime = read_anime(Path(anime_csv or settings.anime_csv))
    synopsis_csv = Path(synopsis_csv or settings.synopsis_csv)
    synopses = read_synopses(synopsis_csv) if synopsis_csv.exists() else {}
    return anime.assign(synopsis=anime["anime_id"].map(synopses))


def read_ratings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"user_id": "int32", "anime_id": "int32", "rating": "int16"})


def load_sample(store, settings: Settings) -> dict:
    """Load catalog, synopses and ratings CSVs into ``store``'s keyspace (ingest's loaders); row counts."""
    sources = {"anime": settings.anime_csv, "synopsis": settings.synopsis_csv, "ratings": settings.ratings_csv}
    results = load_many(store, {k: v for k, v in sources.items() if Path(v).exists()})
    return {r.dataset: (r.status, r.rows_loaded) for r in results}


def synthetic_ratings(sample: pd.DataFrame, n_users: int, seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC ratings for ``n_users`` users, fitted to the sample's distributions.

    Each synthetic user copies the history length of a random sample user; the titles are
    drawn from a mixture of that user's own history (taste) and the global title popularity,
    and the scores from the per-title score distribution of the sample (including -1). The
    result keeps the sample's user-length and item-popularity shapes and some co-watch
    structure; it is a load generator, not data about real people.
    """
    rng = np.random.default_rng(seed)
    sample = sample.sort_values("anime_id", kind="stable")
    hist = [g.to_numpy() for _, g in sample.groupby("user_id")["anime_id"]]
    item_ids, first, item_counts = np.unique(sample["anime_id"].to_numpy(), return_index=True, return_counts=True)
    item_p = item_counts / item_counts.sum()
    all_scores = sample["rating"].to_numpy()          # grouped by title: title i owns [first[i], first[i]+count[i])
    rows_u, rows_a = [], []
    for new_id in range(1, n_users + 1):
        template = hist[rng.integers(len(hist))]
        n = len(template)
        own = rng.choice(template, size=rng.binomial(n, 0.6), replace=False)
        rest = rng.choice(item_ids, size=2 * n + 8, replace=True, p=item_p)
        items = pd.unique(np.concatenate([own, rest]))[:n]
        rows_u.append(np.full(len(items), new_id, dtype=np.int32))
        rows_a.append(items.astype(np.int32))
    anime = np.concatenate(rows_a)
    pos = np.searchsorted(item_ids, anime)
    rating = all_scores[first[pos] + (rng.random(len(anime)) * item_counts[pos]).astype(np.int64)]
    return pd.DataFrame({"user_id": np.concatenate(rows_u), "anime_id": anime, "rating": rating.astype(np.int16)})
