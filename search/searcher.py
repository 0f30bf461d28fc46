"""One entry point for the three search modes: keyword, semantic and their hybrid.

:class:`Searcher` holds the keyword index and, when the model and the stored embeddings are there, the
semantic index. Without them, ``semantic`` raises :class:`SemanticUnavailable` (the API answers 503 with
Retry-After) and ``hybrid`` answers from keywords alone, saying so in ``note``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from search.hybrid import fuse
from search.keyword import KeywordIndex

if TYPE_CHECKING:   # the semantic index brings TensorFlow; this module is used without it too
    from search.semantic import SemanticIndex


class SemanticUnavailable(RuntimeError):
    """Semantic search cannot answer: no model files, or no stored embeddings of the model yet."""


@dataclass(frozen=True)
class Fusion:
    rrf_k: float
    semantic_weight: float
    meaning_depth: int


@dataclass(frozen=True)
class Found:
    hits: list[dict]
    note: str | None = None    # why a hybrid search answered from keywords alone


class Searcher:
    def __init__(self, keyword: KeywordIndex, semantic: SemanticIndex | None, fusion: Fusion,
                 unavailable: str | None = None):
        self.keyword, self.semantic, self.fusion = keyword, semantic, fusion
        self.unavailable = None if semantic is not None else (unavailable or "semantic search is not set up")

    def search(self, query: str, k: int, mode: str = "hybrid") -> Found:
        """Up to ``k`` hits ``{anime_id, score, matched}``, best first."""
        if mode == "keyword":
            return Found(self.keyword.search(query, k))
        if self.semantic is None:
            if mode == "semantic":
                raise SemanticUnavailable(self.unavailable)
            return Found(self.keyword.search(query, k), note=f"{self.unavailable}; keyword results only")
        depth = max(k, self.fusion.meaning_depth) + 20
        if mode == "semantic":
            return Found([{k_: v for k_, v in h.items() if k_ != "field"} for h in self.semantic.search(query, k)])
        return Found(fuse(self.keyword.search(query, depth), self.semantic.search(query, depth), k,
                          self.fusion.rrf_k, self.fusion.semantic_weight, self.fusion.meaning_depth))
