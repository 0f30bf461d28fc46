"""The platform's own pipeline in the harness: recall merge + TensorFlow ranker.

Nothing is re-implemented: ``fit`` trains the ranker with :func:`training.train.train` (recall
built on 80 % of the training data, labels from the rest), then builds every recall source
on the whole training split with the batch jobs' code into a ``MemoryStore``;
``recommend`` asks :class:`ranking.recommender.Recommender` -- the object behind
``/recommends`` -- for each user's top k.

The harness builds models from a seed alone, so the platform settings and the catalog files
are given once by the entry point (:meth:`Pipeline.configure`, the CLI does it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from batch.spark import spark_session
from config import Settings
from evaluation.data import InteractionData
from evaluation.metrics import EMPTY_SLOT
from evaluation.models.base import Recommender
from ingest.frames import read_catalog
from ingest.replay import genre_lookup
from ranking.catalog import Catalog
from ranking.recommender import Recommender as Serving
from ranking.registry import RankerVersion
from training.offline import build_offline_store
from training.train import frozen_features, train as train_ranker, training_stream, write_recent


class Pipeline(Recommender):
    settings: Settings | None = None
    anime_csv: Path | None = None
    synopsis_csv: Path | None = None

    @classmethod
    def configure(cls, settings: Settings, anime_csv: Path | None = None, synopsis_csv: Path | None = None) -> None:
        """Platform settings (ranker and batch knobs) and catalog files (default: the settings' ones)."""
        cls.settings, cls.anime_csv, cls.synopsis_csv = settings, anime_csv, synopsis_csv

    def __init__(self, seed: int = 42) -> None:
        super().__init__(seed)
        if self.settings is None:
            raise RuntimeError("Pipeline.configure(settings) must be called before the pipeline is built")

    def fit(self, train: InteractionData) -> "Pipeline":
        settings = self.settings.model_copy(update={"ranker": self.settings.ranker.model_copy(update={"seed": self.seed})})
        ratings = train.to_frame()
        catalog_frame = read_catalog(self.anime_csv or settings.anime_csv, self.synopsis_csv or settings.synopsis_csv)
        spark = spark_session(settings)
        try:
            trained = train_ranker(ratings, catalog_frame, settings, spark=spark, source_name="evaluation split",
                                   register=False)
            store = build_offline_store(spark, ratings, catalog_frame, settings)
        finally:
            spark.stop()
        self.ranker_metrics = trained["metrics"]
        # what the report and /admin/metrics name: a served ranker of this configuration is the one measured here
        self.ranker_configuration = trained["configuration_id"]
        ranker = RankerVersion("in-memory", trained["model"], trained["schema"], {})
        # Served as the stack would serve it: with the real-time features and recent events the stream holds
        # once it has seen the training data (the training clock's replay of it), as of its end, as the ranker
        # was trained (training.train). Without them every user and title would look brand new to it.
        events = training_stream(ratings, settings.ranker.seed)
        write_recent(store, events)
        realtime = frozen_features(events, int(events["timestamp"].max()) + 1, ratings["user_id"].unique(),
                                   genre_lookup(catalog_frame))
        self._serving = Serving(store, Catalog.from_rows(catalog_frame.to_dict("records")), ranker=ranker,
                                realtime=realtime)
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
