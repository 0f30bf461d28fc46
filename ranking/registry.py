"""Versioned models on disk: ``<model_dir>/ranker/<version>/{model.keras, metadata.json}``.

The API serves the newest valid version, unless one is pinned (``PINNED``), which is how a
rollback works: pin the version before the bad one.
"""
from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from infra.config import Settings, get_settings

MODEL_FILE = "model.keras"
META_FILE = "metadata.json"


class ModelRegistry:
    def __init__(self, settings: Settings | None = None, name: str = "ranker"):
        self.root = (settings or get_settings()).model_dir / name

    def save(self, model, metadata: dict) -> str:
        version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        staging = self.root / f".{version}.partial"
        staging.mkdir(parents=True)
        model.save(staging / MODEL_FILE)
        meta = {"version": version, "created_at": time.time(), **metadata}
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

    def load(self, version: str):
        from tensorflow import keras
        return keras.models.load_model(self.root / version / MODEL_FILE)

    def prune(self, keep: int = 5) -> None:
        protected = {self.pinned(), self.active()}
        for version in self.versions()[:-keep]:
            if version not in protected:
                shutil.rmtree(self.root / version, ignore_errors=True)
