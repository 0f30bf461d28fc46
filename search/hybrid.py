"""Hybrid search: keyword and semantic rankings fused by weighted reciprocal rank (RRF).

``score(title) = 1 / (k + keyword rank) + w / (k + semantic rank)`` (ranks from 1; a ranking a title is not
in adds nothing). A hit keeps what its words matched (name, genre, synopsis) and adds ``meaning`` when it is
among the ``meaning_depth`` best by meaning (or was found by meaning alone). k and w were chosen on tests/data/search_queries.json
(docs/RESULTS.md), a small set: treat them as a sensible setting, not a tuned optimum.
"""
from __future__ import annotations

from config.registry import MEANING


def fuse(keyword: list[dict], semantic: list[dict], k: int, rrf_k: float, semantic_weight: float,
         meaning_depth: int) -> list[dict]:
    """The best ``k`` of both rankings ``{anime_id, score, matched}``."""
    score: dict[int, float] = {}
    matched: dict[int, list[str]] = {}
    for rank, hit in enumerate(keyword, start=1):
        score[hit["anime_id"]] = score.get(hit["anime_id"], 0.0) + 1.0 / (rrf_k + rank)
        matched[hit["anime_id"]] = list(hit["matched"])
    for rank, hit in enumerate(semantic, start=1):
        score[hit["anime_id"]] = score.get(hit["anime_id"], 0.0) + semantic_weight / (rrf_k + rank)
        found = matched.setdefault(hit["anime_id"], [])
        if (rank <= meaning_depth or not found) and MEANING not in found:
            found.append(MEANING)
    best = sorted(score, key=lambda a: (-score[a], a))[:k]
    return [{"anime_id": a, "score": round(score[a], 5), "matched": matched[a]} for a in best]
