"""Why a title was recommended: a readable reason from the recall source that brought it.

Each source's wording is its ``reason`` in :mod:`config.registry`. Two are made concrete here:
the seed source names the title that recalled the item ("Because you clicked Steins;Gate": the
seed whose neighbour list gives the item the largest share of its score), and the popular source
names the favourite genre whose list it came from.
"""
from __future__ import annotations

from collections.abc import Callable

from config import registry
from recall.lists import ListReader, UserContext
from recall.merge import merge_signals
from recall.serving import SEED_NEIGHBOURS, seed_titles


def explain(items: list[dict], context: UserContext, lists: ListReader,
            name_of: Callable[[int], str | None]) -> list[dict]:
    """``items`` (each with its ``source``) with a ``reason``; seed-source items also name their seed in
    ``because``. ``name_of``: a title's name (None when unknown)."""
    seeds = _seed_of([i["anime_id"] for i in items if i.get("source") == registry.SEED_SOURCE], context, lists)
    kinds = {}
    for event in context.recent:                       # newest first: the latest thing done with a title
        kinds.setdefault(int(event["anime_id"]), event["kind"])
    out = []
    for item in items:
        source = registry.SOURCE.get(item.get("source"))
        reason, extra = source.reason if source else "", {}
        if source is not None and source.kind == "seed" and item["anime_id"] in seeds:
            seed = seeds[item["anime_id"]]
            verb = registry.EVENT_VERBS.get(kinds.get(seed, "rating"), "liked")
            reason = source.reason.format(verb=verb, title=name_of(seed) or f"title {seed}")
            extra = {"because": seed}
        elif source is not None and source.kind == "seed":
            reason = "Like titles you just looked at"
        elif source is not None and source.kind == "popular":
            genre = next((g for g in context.genres if g in (item.get("genres") or ())), None)
            reason = registry.POPULAR_IN_GENRE_REASON.format(genre=genre) if genre else source.reason
        out.append({**item, "reason": reason, **extra})
    return out


def _seed_of(anime_ids: list[int], context: UserContext, lists: ListReader) -> dict[int, int]:
    """For each of ``anime_ids``: the seed title contributing most to its seed-source score (the source
    scores ``sum over seeds of similarity / (1 + seed position)``)."""
    if not anime_ids:
        return {}
    seeds = seed_titles(context, has_lists=bool(context.lists))
    neighbours = lists.neighbours(seeds, SEED_NEIGHBOURS, context.pointers) if seeds else {}
    wanted, best = set(anime_ids), {}
    for position, seed in enumerate(seeds):
        for row in merge_signals(neighbours.get(seed, {}), SEED_NEIGHBOURS):
            if row["anime_id"] in wanted:
                share = row["score"] / (1 + position)
                if share > best.get(row["anime_id"], (0.0, 0))[0]:
                    best[row["anime_id"]] = (share, seed)
    return {anime_id: seed for anime_id, (_, seed) in best.items()}
