"""Which vector index semantic search uses: exact FAISS, approximate FAISS (HNSW) and Cassandra 5's own vector
search (SAI, ``ORDER BY ... ANN OF``), each measured on the stored synopsis embeddings for recall@10 against
exact search and for per-query latency, in the same run. Queries: the labelled search queries and catalog
names, embedded by the served encoder. Cassandra's probe table is created in the configured keyspace and
dropped afterwards."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

from config import load_settings
from search.encoder import SentenceEncoder
from store import open_store

QUERIES = Path(__file__).resolve().parents[1] / "tests" / "data" / "search_queries.json"
PROBE = "vector_index_probe"
K = 10


def _timed(search, queries: np.ndarray) -> tuple[list[set[int]], np.ndarray]:
    found, took = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(set(search(q)))
        took.append((time.perf_counter() - start) * 1000)
    return found, np.array(took)


def _report(name: str, found: list[set[int]], truth: list[dict[int, float]], took: np.ndarray) -> None:
    # a hit counts when its exact score reaches the exact 10th best's: titles sharing a synopsis tie
    recall = np.mean([sum(1 for a in f if t["scores"].get(a, -2.0) >= t["kth"] - 1e-5) / K
                      for f, t in zip(found, truth)])
    print(f"  {name:<40} recall@{K} {recall:.3f}   p50 {np.percentile(took, 50):6.2f} ms   "
          f"p99 {np.percentile(took, 99):6.2f} ms", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    settings = load_settings()
    encoder = SentenceEncoder.load(settings.search.embedding_model_dir, settings.search.max_tokens)
    with open_store(settings, retries=3) as store:
        stored = store.embeddings(encoder.version, "synopsis")
        if not len(stored):
            print(f"no synopsis embeddings of {encoder.version}: run `python -m batch run embeddings` first")
            return 1
        texts = [q["q"] for q in json.loads(QUERIES.read_text())["queries"]]
        names = [r["name"] for r in store.all_anime()][:max(0, args.queries - len(texts))]
        queries = encoder.encode(texts + names)
        ids, vectors = stored.anime_ids, stored.vectors
        print(f"{len(ids)} synopsis vectors ({vectors.shape[1]}-d, {encoder.version}), {len(queries)} queries, "
              f"top {K}")
        scores = queries @ vectors.T
        kth = -np.sort(-scores, axis=1)[:, K - 1]
        truth = [{"scores": dict(zip(ids.tolist(), row.tolist())), "kth": float(k)} for row, k in zip(scores, kth)]

        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        found, took = _timed(lambda q: ids[flat.search(q[None], K)[1][0]].tolist(), queries)
        _report("FAISS IndexFlatIP (exact, in process)", found, truth, took)
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efSearch = 64
        hnsw.add(vectors)
        found, took = _timed(lambda q: ids[hnsw.search(q[None], K)[1][0]].tolist(), queries)
        _report("FAISS IndexHNSWFlat M=32 efSearch=64", found, truth, took)

        db = store._db   # the probe table is the benchmark's own, outside the store's interface
        db.statement(f"DROP TABLE IF EXISTS {{ks}}.{PROBE}")
        db.statement(f"CREATE TABLE {{ks}}.{PROBE} (anime_id int PRIMARY KEY, v vector<float, "
                     f"{vectors.shape[1]}>)")
        db.statement(f"CREATE CUSTOM INDEX {PROBE}_ann ON {{ks}}.{PROBE} (v) USING 'StorageAttachedIndex' "
                     f"WITH OPTIONS = {{{{'similarity_function': 'dot_product'}}}}")
        try:
            start = time.monotonic()
            db.many(f"INSERT INTO {{ks}}.{PROBE} (anime_id, v) VALUES (?, ?)",
                    ((int(a), [float(x) for x in v]) for a, v in zip(ids, vectors)))
            print(f"  (Cassandra: {len(ids)} vectors written and indexed in {time.monotonic() - start:.1f} s)")
            query = f"SELECT anime_id FROM {{ks}}.{PROBE} ORDER BY v ANN OF ? LIMIT {K}"
            ann = lambda q: [r["anime_id"] for r in db.rows(query, [float(x) for x in q])]  # noqa: E731
            for q in queries[:5]:
                ann(q)   # warm
            found, took = _timed(ann, queries)
            _report("Cassandra 5 SAI vector search (ANN)", found, truth, took)
        finally:
            db.statement(f"DROP TABLE IF EXISTS {{ks}}.{PROBE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
