"""Serving side of recall: what ``/recall`` and ``/sim`` return."""
from __future__ import annotations

from typing import Any


def _seen_items(store: Any, user_id: int) -> set[int]:
    seen = {int(r["anime_id"]) for r in store.user_ratings(user_id)}
    seen.update(int(e["anime_id"]) for e in store.recent_events(user_id))
    return seen


def candidates_for_user(store: Any, user_id: int, k: int) -> list[dict]:
    """Up to ``k`` candidates ``{"anime_id", "score", "source"}`` for ``user_id``, best first."""
    if k <= 0:
        return []
    seen = _seen_items(store, user_id)
    out = []
    for row in store.popular("all", limit=k + len(seen)):
        if row["anime_id"] in seen:
            continue
        out.append({"anime_id": int(row["anime_id"]), "score": float(row["score"]), "source": "popular"})
        if len(out) >= k:
            break
    return out


def similar_titles(store: Any, anime_id: int, k: int) -> list[dict]:
    """Up to ``k`` neighbours ``{"anime_id", "score", "signals"}`` of ``anime_id``, best first."""
    return []
