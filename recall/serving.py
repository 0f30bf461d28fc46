"""Serving side of recall: what ``/recall`` and ``/sim`` return, read from Cassandra.

Batch outputs are read through their per-source pointers (see :mod:`batch.versions`), so each
source swaps to a new build atomically and independently.
"""
from __future__ import annotations

from config import registry
from recall.merge import merge_candidates, merge_signals, neighbours_of_seeds
from store.interfaces import Store

RECENT_SEEDS = 5          # most recent distinct titles the user interacted with
RATED_SEEDS = 10          # best-scored rated titles, for users the last batch build has not seen
SEED_NEIGHBOURS = 50


def _neighbours(store: Store, pointers: dict[str, int], anime_id: int, limit: int) -> dict[str, list[tuple[int, float]]]:
    out = {}
    for signal in registry.SIGNALS:
        version = pointers.get(signal.pointer)
        if version is not None:
            out[signal.name] = [(r["similar_id"], r["score"])
                                for r in store.similar_at(version, anime_id, signal.name, limit)]
    return out


def _seed_list(store: Store, pointers: dict[str, int], seeds: list[int]) -> list[int]:
    """Neighbours of the seed titles, fused over signals, freshest seed first."""
    per_seed = [[(d["anime_id"], d["score"]) for d in
                 merge_signals(_neighbours(store, pointers, seed, SEED_NEIGHBOURS), SEED_NEIGHBOURS)]
                for seed in seeds]
    return neighbours_of_seeds(per_seed)


def candidates_for_user(store: Store, user_id: int, k: int) -> list[dict]:
    """Up to ``k`` candidates ``{"anime_id", "score", "source"}`` for ``user_id``, best first.

    Sources: the batch lists (``als``, ``itemitem``, ``content``), ``recent`` (neighbours of
    the titles the user just interacted with, from the event stream), and ``popular`` (the
    whole list for a new user; a low-weight filler otherwise). Titles the user rated/watched
    or just interacted with are left out; each title appears once.
    """
    if k <= 0:
        return []
    pointers = store.list_versions()
    rated = store.user_ratings(user_id)
    events = store.recent_events(user_id)
    recent: list[int] = []
    for e in events:                       # newest first
        if e["anime_id"] not in recent:
            recent.append(int(e["anime_id"]))
    seen = {int(r["anime_id"]) for r in rated} | set(recent)
    fetch = k + 50

    lists: dict[str, list[int]] = {}
    for source in registry.RECALL_SOURCES:
        version = pointers.get(source.pointer) if source.kind == "user" else None
        if version is not None:
            rows = store.user_candidates_at(version, user_id, source.name, fetch)
            if rows:
                lists[source.name] = [r["anime_id"] for r in rows]
    seeds = recent[:RECENT_SEEDS]
    if not lists and rated:                # rated after the last build: seed with their favourites
        best = sorted(rated, key=lambda r: (-(r["rating"] or 0), r["anime_id"]))
        seeds += [int(r["anime_id"]) for r in best[:RATED_SEEDS] if int(r["anime_id"]) not in seeds]
    if seeds:
        lists[registry.SEED_SOURCE] = _seed_list(store, pointers, seeds)
    lists[registry.POPULAR_SOURCE] = [r["anime_id"] for r in store.popular("all", limit=k + len(seen))]
    return merge_candidates(lists, k, exclude=seen)


def similar_titles(store: Store, anime_id: int, k: int) -> list[dict]:
    """Up to ``k`` neighbours ``{"anime_id", "score", "signals"}`` of ``anime_id``, best first.

    Co-watch and content neighbours, fused (``score = sum of weighted similarities``); a title
    nobody has watched yet has content neighbours only.
    """
    if k <= 0:
        return []
    # read deeper than k per signal, so a title ranked a little lower by both signals can still rise
    return merge_signals(_neighbours(store, store.list_versions(), anime_id, max(2 * k, SEED_NEIGHBOURS)), k,
                         exclude={anime_id})
