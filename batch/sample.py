"""Read the shared anime CSVs and load them into a (scratch) keyspace; synthesise larger workloads.

Used by the integration tests and the benchmark; the real catalog load belongs to ingest.
``anime.csv`` is CRLF with HTML entities in names, ``Unknown`` episode counts and empty
fields; ``rating_sample.csv`` is ``user_id,anime_id,rating`` with -1 = watched, no score.
"""
from __future__ import annotations

import csv
import html
from pathlib import Path

import numpy as np
import pandas as pd

from infra.config import Settings


def _int(value: str | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_anime(path: Path) -> list[dict]:
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            genres = [html.unescape(g.strip()) for g in (row.get("genre") or "").split(",") if g.strip()]
            out.append({"anime_id": int(row["anime_id"]), "name": html.unescape(row["name"] or "").strip(),
                        "genres": genres, "type": (row.get("type") or "").strip() or None,
                        "episodes": _int(row.get("episodes")), "rating": _float(row.get("rating")),
                        "members": _int(row.get("members"))})
    return out


def read_synopses(path: Path) -> dict[int, str]:
    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = html.unescape((row.get("sypnopsis") or "").strip())
            if text and _int(row.get("MAL_ID")) is not None:
                out[int(row["MAL_ID"])] = text
    return out


def read_ratings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"user_id": "int32", "anime_id": "int32", "rating": "int16"})


def load_sample(store, settings: Settings, ratings: pd.DataFrame | None = None, synopses: bool = True) -> dict:
    """Load catalog (with synopses) and ratings into ``store``'s keyspace; return row counts."""
    anime = read_anime(settings.anime_csv)
    n_anime = store.upsert_anime(anime)
    n_syn = 0
    if synopses and settings.synopsis_csv.exists():
        known = {a["anime_id"] for a in anime}
        n_syn = store.set_synopses((a, s) for a, s in read_synopses(settings.synopsis_csv).items() if a in known)
    if ratings is None:
        ratings = read_ratings(settings.ratings_csv)
    n_ratings = store.upsert_ratings(ratings[["user_id", "anime_id", "rating"]].itertuples(index=False, name=None))
    return {"anime": n_anime, "synopses": n_syn, "ratings": n_ratings}


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
