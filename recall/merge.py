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

from config.registry import SIGNAL_WEIGHTS, SOURCE_WEIGHTS

RRF_K = 60


def merge_candidates(lists: Mapping[str, Iterable[int]], k: int, exclude: set[int] | frozenset = frozenset(),
                     weights: Mapping[str, float] = SOURCE_WEIGHTS) -> list[dict]:
    """Fuse ``{source: [anime_id, ...] best first}`` into ``k`` dicts ``{anime_id, score, source, ranks}``.

    ``ranks`` holds the item's rank in every source that has it (the ranker's features).
    """
    fused: dict[int, float] = {}
    best: dict[int, tuple[float, str]] = {}
    source_ranks: dict[int, dict[str, int]] = {}
    for source, items in lists.items():
        w = weights.get(source, 1.0)
        rank = 0
        for anime_id in items:
            if anime_id in exclude:
                continue
            rank += 1
            contribution = w / (RRF_K + rank)
            fused[anime_id] = fused.get(anime_id, 0.0) + contribution
            source_ranks.setdefault(anime_id, {})[source] = rank
            if contribution > best.get(anime_id, (0.0, ""))[0]:
                best[anime_id] = (contribution, source)
    top = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:max(k, 0)]
    return [{"anime_id": int(a), "score": float(s), "source": best[a][1], "ranks": source_ranks[a]} for a, s in top]


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
