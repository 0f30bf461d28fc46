"""Semantic search: a query's embedding against each title's name and synopsis embeddings (FAISS, exact inner
product), a title scored by the closer of its two texts plus a small popularity prior.

The vectors come from the store (``title_embeddings``, written by the embeddings job) for the encoder's own
model version, so a query is only ever compared with vectors of the model that embeds it. The index is exact
(``IndexFlatIP``): at this catalog's size it answers in about a millisecond with recall 1.0, where Cassandra's
approximate vector search needed a round trip per query (docs/RESULTS.md: the measurement).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping

import faiss
import numpy as np

from config.registry import EMBEDDED_FIELDS, MEANING
from search.encoder import SentenceEncoder
from store.interfaces import Embeddings


def field_text(row: Mapping, field: str) -> str | None:
    """The text of ``field`` that a title's vector is made from, or None when the title has none."""
    value = row.get(field)
    return value.strip() if isinstance(value, str) and value.strip() else None


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class SemanticIndex:
    """Vectors of each embedded field, searchable by a query in plain words."""

    def __init__(self, encoder: SentenceEncoder, fields: Mapping[str, Embeddings], popularity: Mapping[int, float],
                 prior: float):
        self.encoder, self.prior = encoder, prior
        self._fields = []
        for name in EMBEDDED_FIELDS:
            found = fields.get(name)
            if found is None or not len(found):
                continue
            index = faiss.IndexFlatIP(found.vectors.shape[1])
            index.add(np.ascontiguousarray(found.vectors, dtype=np.float32))
            self._fields.append((name, found.anime_ids, index))
        self._popularity = popularity
        self.titles = len({int(a) for _, ids, _ in self._fields for a in ids})

    def __len__(self) -> int:
        return self.titles

    def search(self, query: str, k: int, depth: int = 50) -> list[dict]:
        """Up to ``k`` hits ``{anime_id, score, matched: ['meaning'], field}``, best first; ``field`` is the text
        (name or synopsis) closest to the query."""
        if not query.strip() or k <= 0 or not self._fields:
            return []
        vector = self.encoder.encode([query])
        best: dict[int, tuple[float, str]] = {}
        for name, ids, index in self._fields:
            scores, rows = index.search(vector, min(k + depth, index.ntotal))
            for score, row in zip(scores[0], rows[0]):
                if row < 0:
                    continue
                anime_id = int(ids[row])
                if anime_id not in best or score > best[anime_id][0]:
                    best[anime_id] = (float(score), name)
        ranked = sorted(((s + self.prior * self._popularity.get(a, 0.0), a, f) for a, (s, f) in best.items()),
                        key=lambda t: (-t[0], t[1]))
        return [{"anime_id": a, "score": round(s, 4), "matched": [MEANING], "field": f} for s, a, f in ranked[:k]]
