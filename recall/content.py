"""Content similarity: genres, type, episode count and text (title + synopsis), TF-IDF.

Each title becomes the concatenation of L2-normalised blocks, each scaled by the square root
of its weight, so the cosine of two titles is the weighted mean of the per-block cosines:

* text: TF-IDF (sublinear tf, English stop words, unigrams + bigrams) of name + synopsis;
* genres: IDF-weighted multi-hot (sharing "Military" says more than sharing "Comedy");
* type: one-hot (TV, Movie, OVA, ...);
* episodes: one-hot length bucket (single, short, cour, two-cour, long, very long).

Blocks a title lacks (no synopsis, unknown episodes) drop out and the row is renormalised.
It needs no watch history, so a title nobody has watched still gets neighbours.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from recall.itemsim import blocks
from recall.topk import topk_rows

EPISODE_BUCKETS = (1, 2, 7, 14, 27, 53, 101)   # lower bounds: 1 | 2-6 | 7-13 | 14-26 | 27-52 | 53-100 | 101+


@dataclass(frozen=True)
class ContentWeights:
    text: float = 0.55
    genres: float = 0.30
    type: float = 0.10
    episodes: float = 0.05


def _one_hot(values: pd.Series) -> sp.csr_matrix:
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    rows = np.flatnonzero(codes >= 0)
    return sp.csr_matrix((np.ones(len(rows)), (rows, codes[rows])), shape=(len(values), max(codes.max() + 1, 1)))


def _episode_bucket(episodes: pd.Series) -> pd.Series:
    ep = pd.to_numeric(episodes, errors="coerce")
    bucket = np.searchsorted(EPISODE_BUCKETS, ep.fillna(0).to_numpy(), side="right") - 1
    return pd.Series(np.where(ep.fillna(0).to_numpy() >= 1, bucket, -1)).replace(-1, np.nan)


def _genres(genres: pd.Series) -> sp.csr_matrix:
    docs = genres.apply(lambda g: [x.strip() for x in g if x and x.strip()] if isinstance(g, (list, tuple, np.ndarray))
                        else [])
    if not any(len(d) for d in docs):
        return sp.csr_matrix((len(genres), 1))
    vec = TfidfVectorizer(analyzer=lambda d: d, norm="l2", use_idf=True, smooth_idf=True)
    return vec.fit_transform(docs)


def _text(names: pd.Series, synopses: pd.Series) -> sp.csr_matrix:
    docs = (names.fillna("") + ". " + synopses.fillna("")).str.strip()
    big = len(docs) >= 50      # corpus-level pruning only makes sense on a real catalog
    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english", ngram_range=(1, 2), min_df=2 if big else 1,
                          max_df=0.4 if big else 1.0, max_features=200_000, dtype=np.float32)
    try:
        return vec.fit_transform(docs)
    except ValueError:         # empty vocabulary: no usable text at all
        return sp.csr_matrix((len(docs), 1), dtype=np.float32)


def content_features(anime: pd.DataFrame, weights: ContentWeights = ContentWeights()) -> sp.csr_matrix:
    """Row-normalised feature matrix of ``anime`` (``name, genres, type, episodes, synopsis``), row order kept."""
    parts = [(weights.text, _text(anime["name"], anime.get("synopsis", pd.Series([None] * len(anime))))),
             (weights.genres, _genres(anime["genres"])),
             (weights.type, _one_hot(anime["type"].where(anime["type"].notna(), None))),
             (weights.episodes, _one_hot(_episode_bucket(anime["episodes"])))]
    stacked = sp.hstack([normalize(m.astype(np.float32)) * np.float32(np.sqrt(w)) for w, m in parts if w > 0],
                        format="csr")
    return normalize(stacked)


def content_neighbours(features: sp.csr_matrix, k: int, block: int = 512, items: np.ndarray | None = None
                       ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Top-``k`` cosine neighbours per row of ``features`` (or of ``items``), blockwise.

    Yields flat ``(item, neighbour, score)`` row-index arrays, each item's best first.
    """
    ft = features.T.tocsc()
    todo = blocks(features.shape[0], block) if items is None else [items[i:i + block] for i in range(0, len(items), block)]
    for rows in todo:
        sim = (features[rows] @ ft).toarray().astype(np.float64)
        sim[np.arange(len(rows)), rows] = 0.0
        r, c, v = topk_rows(sim, k, min_score=0.0)
        yield rows[r], c, v
