"""Versioned rankers on disk: ``<model_dir>/ranker/<version>/{model.keras, ranker.tflite, metadata.json}``.

A version carries everything needed to score with it: the Keras model (its normalisation
layer included), the same model converted to TF Lite (what serving runs), and, in the metadata, the
:class:`ranking.features.FeatureSchema` (feature names, genre/type/source vocabularies) and the
normalisation statistics it was fitted with.

The API serves the newest valid version, unless one is pinned (``PINNED``), which is how a
rollback works: pin the version before the bad one.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from config import Settings
from ranking.features import FeatureSchema

MODEL_FILE = "model.keras"
LITE_FILE = "ranker.tflite"
META_FILE = "metadata.json"


@dataclass(frozen=True)
class RankerVersion:
    version: str
    model: object              # keras.Model (None when loaded for serving from its TF Lite file)
    schema: FeatureSchema
    metadata: dict
    scorer: object = None      # a ranking.model.LiteScorer, when the version was loaded for serving


class ModelRegistry:
    def __init__(self, settings: Settings, name: str = "ranker"):
        self.root = settings.model_dir / name

    def save(self, model, schema: FeatureSchema, metadata: dict) -> str:
        width = int(model.input_shape[-1])
        if width != schema.width:
            raise ValueError(f"model input width {width} does not match its feature schema ({schema.width} names)")
        version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        staging = self.root / f".{version}.partial"
        staging.mkdir(parents=True)
        model.save(staging / MODEL_FILE)
        # what serving runs, converted once here: an API process loads it in milliseconds (a Keras load and a
        # conversion took seconds of CPU in every process, the old model serving meanwhile)
        from ranking.model import LiteScorer
        (staging / LITE_FILE).write_bytes(LiteScorer(model).flatbuffer)
        meta = {"version": version, "created_at": time.time(), **metadata, "feature_schema": schema.to_dict(),
                "normalisation": _normalisation(model)}
        (staging / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
        staging.rename(self.root / version)  # a version appears complete or not at all
        return version

    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and not p.name.startswith(".") and (p / META_FILE).exists()
                      and (p / MODEL_FILE).exists())

    def metadata(self, version: str) -> dict:
        return json.loads((self.root / version / META_FILE).read_text())

    def pinned(self) -> str | None:
        pin = self.root / "PINNED"
        return pin.read_text().strip() if pin.exists() else None

    def active(self) -> str | None:
        pinned = self.pinned()
        if pinned in self.versions():
            return pinned
        versions = self.versions()
        return versions[-1] if versions else None

    def pin(self, version: str | None) -> None:
        pin = self.root / "PINNED"
        if version is None:
            pin.unlink(missing_ok=True)
            return
        if version not in self.versions():
            raise ValueError(f"no such model version: {version}")
        pin.write_text(version)

    def rollback(self) -> str:
        """Pin the version before the active one; return it."""
        versions, active = self.versions(), self.active()
        position = versions.index(active) if active in versions else len(versions)
        if position == 0:
            raise ValueError("no earlier model version to roll back to")
        self.pin(versions[position - 1])
        return versions[position - 1]

    def load(self, version: str) -> RankerVersion:
        """The model and the feature schema it was trained with; refuses a version without a schema."""
        from tensorflow import keras
        metadata = self.metadata(version)
        if "feature_schema" not in metadata:
            raise ValueError(f"ranker version {version} carries no feature schema; train a new one")
        schema = FeatureSchema.from_dict(metadata["feature_schema"])
        model = keras.models.load_model(self.root / version / MODEL_FILE)
        if int(model.input_shape[-1]) != schema.width:
            raise ValueError(f"ranker version {version}: model width {model.input_shape[-1]} != schema {schema.width}")
        return RankerVersion(version, model, schema, metadata)

    def load_serving(self, version: str) -> RankerVersion:
        """What serving needs of a version: its feature schema and its TF Lite scorer, read from the file saved with
        it (a version saved before that file existed is loaded whole and converted)."""
        from ranking.model import LiteScorer
        lite = self.root / version / LITE_FILE
        if not lite.exists():
            ranker = self.load(version)
            return dataclasses.replace(ranker, scorer=LiteScorer(ranker.model))
        metadata = self.metadata(version)
        if "feature_schema" not in metadata:
            raise ValueError(f"ranker version {version} carries no feature schema; train a new one")
        schema = FeatureSchema.from_dict(metadata["feature_schema"])
        return RankerVersion(version, None, schema, metadata,
                             LiteScorer(flatbuffer=lite.read_bytes(), n_features=schema.width))

    def prune(self, keep: int = 5) -> None:
        protected = {self.pinned(), self.active()}
        for version in self.versions()[:-keep]:
            if version not in protected:
                shutil.rmtree(self.root / version, ignore_errors=True)


def _normalisation(model) -> dict | None:
    """Mean and variance of the model's normalisation layer (an ensemble's: its first member's; they are alike),
    per input feature (for inspection)."""
    layer = next((m.get_layer("normalize") for m in (model, *model.layers)
                  if hasattr(m, "get_layer") and "normalize" in {sub.name for sub in getattr(m, "layers", ())}), None)
    if layer is None:
        return None
    return {"mean": [float(x) for x in layer.mean.numpy().ravel()],
            "variance": [float(x) for x in layer.variance.numpy().ravel()]}
