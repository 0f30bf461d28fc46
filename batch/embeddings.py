"""Embeddings job: every title's name and synopsis as sentence embeddings (``title_embeddings``), stored with
the model's version for semantic search.

Only texts that are new or changed since the last run are embedded (the stored text hash tells), so a rerun
on an unchanged catalog costs a read. The encoder runs on the driver (TensorFlow uses both cores); Spark has
nothing to add for ~24k short texts.
"""
from __future__ import annotations

import logging
import time

from config.registry import EMBEDDED_FIELDS
from search.encoder import SentenceEncoder
from search.semantic import field_text, text_hash

log = logging.getLogger(__name__)
WRITE_CHUNK = 512


def run(spark, store, settings) -> dict:
    rows = store.all_anime(with_synopsis=True)
    if not rows:
        raise RuntimeError("the anime catalog is empty; load it before embedding it")
    encoder = SentenceEncoder.load(settings.search.embedding_model_dir, settings.search.max_tokens)
    details: dict = {"model": encoder.version}
    started = time.monotonic()
    for field in EMBEDDED_FIELDS:
        stored = store.embeddings(encoder.version, field)
        known = dict(zip((int(a) for a in stored.anime_ids), stored.text_hashes))
        texts = [(int(row["anime_id"]), text) for row in rows if (text := field_text(row, field)) is not None]
        todo = [(a, t) for a, t in texts if known.get(a) != text_hash(t)]
        for start in range(0, len(todo), WRITE_CHUNK):
            chunk = todo[start:start + WRITE_CHUNK]
            vectors = encoder.encode([t for _, t in chunk])
            store.write_embeddings(encoder.version, field,
                                   ((a, text_hash(t), v) for (a, t), v in zip(chunk, vectors)))
            log.info("embeddings: %s %d/%d", field, start + len(chunk), len(todo))
        details[f"{field}_embedded"] = len(todo)
        details[f"{field}_kept"] = len(texts) - len(todo)
    details["seconds"] = round(time.monotonic() - started, 1)
    return details
