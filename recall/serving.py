"""Serving side of recall: what ``/recall`` and ``/sim`` return.

Batch outputs are read through their per-source pointers (see :mod:`batch.versions`), so each
source swaps to a new build atomically and independently; :class:`recall.lists.ListReader` reads
them (cached by version) and a request's :class:`recall.lists.UserContext`.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from itertools import zip_longest

from config import registry
from recall.lists import ListReader, UserContext
from recall.merge import merge_candidates, merge_signals, neighbours_of_seeds
from recall.popularity import GENRE_PREFIX
from store.interfaces import Store

RECENT_SEEDS = 5          # most recent distinct titles the user interacted with
RATED_SEEDS = 10          # best-scored rated titles, for users the last batch build has not seen
SEED_NEIGHBOURS = 50
EXTRA = 50                # read this much deeper than k: seen titles are left out after the read


def candidates(context: UserContext, lists: ListReader, k: int, sources: Collection[str] | None = None,
               weights: Mapping[str, float] | None = None, per_source: int | None = None) -> list[dict]:
    """Up to ``k`` candidates ``{"anime_id", "score", "source", "ranks", "scores"}`` for the user of ``context``,
    best first (``scores``: the raw score of each per-user batch list that holds the title).

    Sources: the batch lists (``als``, ``ease``, ``itemitem``, ``content``), ``recent`` (neighbours
    of the titles the user just interacted with, from the event stream), and ``popular`` (the
    whole list for a new user; a low-weight filler otherwise). Titles the user rated/watched
    or just interacted with are left out; each title appears once. ``sources`` keeps only those sources and
    ``weights`` overrides their merge weights (an experiment's variant). ``per_source``: only each source's
    first ``per_source`` unseen titles take part (the ranker's candidates: the union of the sources' tops).
    """
    if k <= 0:
        return []
    fetched = source_lists(context, lists, k)
    if sources is not None:
        fetched = {name: ids for name, ids in fetched.items() if name in sources}
        for name in sources:     # lists outside the merge are read only when asked for
            if name not in fetched and name in registry.SOURCE and not registry.SOURCE[name].merged:
                fetched[name] = lists.user_list(context.user_id, name, k + EXTRA, context.pointers)
    merged = merge_candidates(fetched, k, exclude=seen_titles(context),
                              weights={**registry.SOURCE_WEIGHTS, **(weights or {})}, depth=per_source)
    raw = {source: dict(zip(context.lists[source], scores)) for source, scores in context.scores.items()
           if source in fetched}
    for c in merged:
        c["scores"] = {source: raw[source][c["anime_id"]] for source in c["ranks"] if source in raw}
    return merged


def seen_titles(context: UserContext) -> set[int]:
    """Titles the user rated, watched or just interacted with: never recalled."""
    return {int(r["anime_id"]) for r in context.ratings} | set(context.recent_titles)


def source_lists(context: UserContext, lists: ListReader, k: int) -> dict[str, list[int]]:
    """Each source's list for the user, best first, deep enough to leave ``k`` once seen titles are left out."""
    fetched = {source: ids[:k + EXTRA] for source, ids in context.lists.items()}
    seeds = seed_titles(context, has_lists=bool(fetched))
    if seeds:
        neighbours = lists.neighbours(seeds, SEED_NEIGHBOURS, context.pointers)
        fetched[registry.SEED_SOURCE] = neighbours_of_seeds(
            [(d["anime_id"], d["score"]) for d in merge_signals(neighbours[seed], SEED_NEIGHBOURS)] for seed in seeds)
    fetched[registry.POPULAR_SOURCE] = _popular(context, lists, k + len(seen_titles(context)))
    return fetched


def seed_titles(context: UserContext, has_lists: bool) -> list[int]:
    """The titles whose neighbours the seed source recalls: the most recent distinct titles; for a user who
    rated after the last build (no per-user lists yet), their best-rated titles too."""
    seeds = context.recent_titles[:RECENT_SEEDS]
    if not has_lists and context.ratings:
        best = sorted(context.ratings, key=lambda r: (-(r["rating"] or 0), r["anime_id"]))
        seeds += [int(r["anime_id"]) for r in best[:RATED_SEEDS] if int(r["anime_id"]) not in seeds]
    return seeds


def _popular(context: UserContext, lists: ListReader, depth: int) -> list[int]:
    """The popularity list; for a user with favourite genres, those genres' lists taken in turn instead (the
    overall list where they have no titles at all)."""
    if context.genres:
        per_genre = [lists.popular(depth, segment=GENRE_PREFIX + g, pointers=context.pointers) for g in context.genres]
        interleaved = list(dict.fromkeys(i for row in zip_longest(*per_genre) for i in row if i is not None))
        if interleaved:
            return interleaved[:depth]
    return lists.popular(depth, pointers=context.pointers)


def candidates_for_user(store: Store, user_id: int, k: int) -> list[dict]:
    """:func:`candidates` read straight from ``store`` (no cache): tools and tests."""
    reader = ListReader(store, cache_mb=0)
    return candidates(reader.user(user_id, k + EXTRA), reader, k)


def similar(lists: ListReader, anime_id: int, k: int) -> list[dict]:
    """Up to ``k`` neighbours ``{"anime_id", "score", "signals"}`` of ``anime_id``, best first.

    Co-watch and content neighbours, fused (``score = sum of weighted similarities``); a title
    nobody has watched yet has content neighbours only.
    """
    if k <= 0:
        return []
    # read deeper than k per signal, so a title ranked a little lower by both signals can still rise
    depth = max(2 * k, SEED_NEIGHBOURS)
    return merge_signals(lists.neighbours([anime_id], depth)[anime_id], k, exclude={anime_id})


def similar_titles(store: Store, anime_id: int, k: int) -> list[dict]:
    """:func:`similar` read straight from ``store`` (no cache): tools and tests."""
    return similar(ListReader(store, cache_mb=0), anime_id, k)
