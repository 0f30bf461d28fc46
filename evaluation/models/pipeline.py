"""The platform's own pipeline in the harness: recall merge + TensorFlow ranker.

Nothing is re-implemented: ``fit`` trains the ranker with :func:`ranking.train.train` (recall
built on 80 % of the training data, labels from the rest), then builds every recall source
on the whole training split with the batch jobs' code into a ``MemoryStore``;
``recommend`` asks :class:`ranking.recommender.Recommender` -- the object behind
``/recommends`` -- for each user's top k.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation.data import InteractionData
from evaluation.metrics import EMPTY_SLOT
from evaluation.models.base import Recommender

_CATALOG_FILES: dict[str, Path | None] = {"anime": None, "synopsis": None}


def use_catalog(anime: Path | None, synopsis: Path | None = None) -> None:
    """Catalog files the pipeline reads (the CLI passes ``--anime``); default: the configured ones."""
    _CATALOG_FILES.update(anime=anime, synopsis=synopsis)


def _catalog_frame():
    from batch.sample import read_catalog
    from infra.config import get_settings
    return read_catalog(get_settings(), _CATALOG_FILES["anime"], _CATALOG_FILES["synopsis"])


class Pipeline(Recommender):
    def __init__(self, seed: int = 42, max_users: int | None = None, epochs: int = 6, sources: str | None = None) -> None:
        """Defaults: the training settings (``ranker_max_users``, ``ranker_sources``)."""
        from infra.config import get_settings
        super().__init__(seed)
        self.max_users = max_users or get_settings().ranker_max_users
        self.epochs = epochs
        self.sources = sources or get_settings().ranker_sources

    def fit(self, train: InteractionData) -> "Pipeline":
        from batch.offline import build_offline_store
        from batch.spark import spark_session
        from infra.config import get_settings
        from ranking.catalog import Catalog
        from ranking.model import Scorer
        from ranking.recommender import Recommender as Serving
        from ranking.train import train as train_ranker

        ratings, catalog_frame = train.to_frame(), _catalog_frame()
        sources = tuple(self.sources.split(","))
        spark = spark_session(get_settings())
        try:
            trained = train_ranker(ratings, catalog_frame, spark=spark, epochs=self.epochs, seed=self.seed,
                                   max_users=self.max_users, sources=sources, source_name="evaluation split",
                                   register=False)
            store = build_offline_store(spark, ratings, catalog_frame, sources=sources)
        finally:
            spark.stop()
        self.ranker_metrics = trained["metrics"]
        self._serving = Serving(store, Catalog.from_rows(catalog_frame.to_dict("records")),
                                scorer=Scorer(trained["model"]))
        self._train = train
        self._item_index = {int(a): i for i, a in enumerate(train.item_ids)}
        return self

    def recommend(self, user_indices: np.ndarray, k: int, exclude_seen: bool = True) -> np.ndarray:
        out = np.full((len(user_indices), k), EMPTY_SLOT, dtype=np.int64)
        for row, user_index in enumerate(user_indices):
            ranked = self._serving.rank(int(self._train.user_ids[user_index]), k + 20)
            items = [self._item_index[r["anime_id"]] for r in ranked if r["anime_id"] in self._item_index][:k]
            out[row, :len(items)] = items
        return out
