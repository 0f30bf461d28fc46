"""Merging ranked candidate lists from several sources into one (pure functions).

Scores of different sources live on different scales (ALS dot products, summed cosines,
popularity shares), so lists are fused by *weighted reciprocal rank*:
``fused(item) = sum_s weight_s / (RRF_K + rank_s(item))``. An item's ``source`` is the one
that contributed most. Items in ``exclude`` (seen, just clicked) never appear; each item once.

The weights are the recall sources' and signals' own, in :mod:`config.registry` (where the
reasons for their values are written down).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from config.registry import SIGNAL_WEIGHTS, SOURCE_WEIGHTS

RRF_K = 60
TABLE_IDS = 1 << 20


def merge_candidates(lists: Mapping[str, Iterable[int]], k: int, exclude: set[int] | frozenset = frozenset(),
                     weights: Mapping[str, float] = SOURCE_WEIGHTS, depth: int | None = None) -> list[dict]:
    """Fuse ``{source: [anime_id, ...] best first}`` into ``k`` dicts ``{anime_id, score, source, ranks}``.

    ``depth``: only the first ``depth`` titles of each list (after ``exclude``) take part, so with a large
    ``k`` the result is the union of every source's top ``depth``, in fused order.

    ``ranks`` holds the item's rank in every source that has it (the ranker's features); an item's
    ``source`` is the one whose term is largest (the first listed on a tie). Ties in the fused score go
    to the smaller anime_id. Vectorised over all sources' items at once (a request fuses ~1,000).
    """
    if k <= 0:
        return []
    names = list(lists)
    arrays = [np.fromiter(lists[name], dtype=np.int64) for name in names]
    barred = np.fromiter(exclude, dtype=np.int64, count=len(exclude))
    # One lookup table for every list where the ids are small (np.isin sorts each list against the barred titles);
    # ids are sparse (an upload may bring one near 2^31), so beyond TABLE_IDS np.isin it is.
    top = max([int(barred.max()) if len(barred) else -1, *(int(a.max()) for a in arrays if len(a))], default=-1)
    blocked = None
    if len(barred) and top < TABLE_IDS:
        blocked = np.zeros(top + 1, dtype=bool)
        blocked[barred] = True
    ids, ranks, terms, source = [], [], [], []
    for j, (name, items) in enumerate(zip(names, arrays)):
        if blocked is not None:
            items = items[~blocked[items]]
        elif len(barred):
            items = items[~np.isin(items, barred)]
        items = items[:depth] if depth is not None else items
        rank = np.arange(1, len(items) + 1)
        ids.append(items)
        ranks.append(rank)
        terms.append(weights.get(name, 1.0) / (RRF_K + rank))
        source.append(np.full(len(items), j))
    if not names or not sum(len(a) for a in ids):
        return []
    ids, ranks, terms, source = (np.concatenate(a) for a in (ids, ranks, terms, source))
    unique, which = np.unique(ids, return_inverse=True)
    fused = np.bincount(which, weights=terms, minlength=len(unique))
    by_term = np.lexsort((source, -terms, which))                 # per item: its largest term first
    first = by_term[np.r_[True, which[by_term][1:] != which[by_term][:-1]]]
    best = np.empty(len(unique), dtype=np.int64)
    best[which[first]] = source[first]
    top = np.lexsort((unique, -fused))[:k]
    position = np.full(len(unique), -1)
    position[top] = np.arange(len(top))
    chosen = np.flatnonzero(position[which] >= 0)
    per_item: list[dict[str, int]] = [{} for _ in top]
    for row, j, r in zip(position[which[chosen]].tolist(), source[chosen].tolist(), ranks[chosen].tolist()):
        per_item[row][names[j]] = r
    return [{"anime_id": a, "score": s, "source": names[b], "ranks": per_item[i]}
            for i, (a, s, b) in enumerate(zip(unique[top].tolist(), fused[top].tolist(), best[top].tolist()))]


def neighbours_of_seeds(neighbour_lists: Iterable[Iterable[tuple[int, float]]]) -> list[int]:
    """One list from the neighbour lists of several seed titles (most recent seed first).

    ``score(j) = sum_seeds sim(seed, j) / (1 + seed_position)``: fresher seeds count more.
    """
    scores: dict[int, float] = {}
    for position, neighbours in enumerate(neighbour_lists):
        for anime_id, sim in neighbours:
            scores[anime_id] = scores.get(anime_id, 0.0) + float(sim) / (1 + position)
    return [a for a, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def merge_signals(per_signal: Mapping[str, Iterable[tuple[int, float]]], k: int, exclude: set[int] | frozenset = frozenset(),
                  weights: Mapping[str, float] = SIGNAL_WEIGHTS) -> list[dict]:
    """Neighbours of one title across signals: ``score = sum_s weight_s * sim_s``, ``signals`` listed."""
    score: dict[int, float] = {}
    signals: dict[int, list[str]] = {}
    for signal, neighbours in per_signal.items():
        w = weights.get(signal, 1.0)
        for anime_id, sim in neighbours:
            if anime_id in exclude:
                continue
            score[anime_id] = score.get(anime_id, 0.0) + w * float(sim)
            signals.setdefault(anime_id, []).append(signal)
    top = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:max(k, 0)]
    return [{"anime_id": int(a), "score": float(s), "signals": signals[a]} for a, s in top]
