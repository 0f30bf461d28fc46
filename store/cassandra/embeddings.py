"""Titles' text embeddings on Cassandra: one partition per model version and field, vectors as float32 bytes."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from store.cassandra.session import CassandraSession
from store.interfaces import Embeddings, EmbeddingStore

FETCH = 2_000


class CassandraEmbeddings(EmbeddingStore):
    _db: CassandraSession

    def write_embeddings(self, model_version: str, field: str,
                         rows: Iterable[tuple[int, str, np.ndarray]]) -> int:
        return self._db.many("INSERT INTO {title_embeddings} (model_version, field, anime_id, text_hash, vector) "
                             "VALUES (?,?,?,?,?)",
                             ((model_version, field, int(a), h, np.asarray(v, dtype="<f4").tobytes())
                              for a, h, v in rows))

    def embeddings(self, model_version: str, field: str) -> Embeddings:
        rows = self._db.rows("SELECT anime_id, text_hash, vector FROM {title_embeddings} "
                             "WHERE model_version = ? AND field = ?", model_version, field, fetch_size=FETCH)
        if not rows:
            return Embeddings(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), ())
        return Embeddings(np.array([r["anime_id"] for r in rows], dtype=np.int64),
                          np.stack([np.frombuffer(r["vector"], dtype="<f4") for r in rows]).astype(np.float32),
                          tuple(r["text_hash"] for r in rows))
