"""Batch knobs that :class:`infra.config.Settings` does not carry (yet).

Each is read from an ``ANIMEREC_<NAME>`` environment variable with the default below; the
names are the Settings fields proposed for them, so moving them into Settings later is a
rename, not a redesign.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from infra.config import Settings

JOBS = ("popularity", "stats", "ease", "als", "itemitem", "content")


def _env(name: str, default, cast=str):
    raw = os.environ.get(f"ANIMEREC_{name.upper()}")
    return default if raw is None or raw == "" else cast(raw)


@dataclass(frozen=True)
class BatchOptions:
    spark_shuffle_partitions: int = 8
    candidates_per_source: int = 300      # per user and source in user_candidates
    similar_per_item: int = 50            # per title and signal in similar_items
    scoring_neighbours: int = 100         # neighbours per title used to score users (>= similar_per_item)
    popular_half_life_hours: float = 24.0  # recency decay of streamed events
    popular_trend_weight: float = 0.3     # share of popularity that comes from recent events
    als_rank: int = 64
    als_iterations: int = 12
    als_reg: float = 0.1
    als_alpha: float = 5.0              # 2..10 measured alike; 20+ loses recall@100
    cowatch_shrinkage: float = 20.0
    cowatch_min_common: int = 2
    content_text_weight: float = 0.55
    content_genre_weight: float = 0.30
    content_type_weight: float = 0.10
    content_episodes_weight: float = 0.05
    batch_schedule: str = "3600"           # seconds between runs, or a cron expression

    @classmethod
    def from_env(cls) -> "BatchOptions":
        values = {}
        for f in fields(cls):
            default = f.default
            values[f.name] = _env(f.name, default, type(default))
        return cls(**values)

    @property
    def neighbours_k(self) -> int:
        """Neighbours computed per title: enough to store and to score users with."""
        return max(self.similar_per_item, self.scoring_neighbours)

    def schedule_for(self, job: str) -> str:
        """Schedule of one job: ``ANIMEREC_BATCH_SCHEDULE_<JOB>`` or the common ``batch_schedule``."""
        return _env(f"batch_schedule_{job}", self.batch_schedule)


def shuffle_partitions() -> int:
    return BatchOptions.from_env().spark_shuffle_partitions


def spark_local_dir(settings: Settings) -> Path:
    path = settings.run_dir / "spark"
    path.mkdir(parents=True, exist_ok=True)
    return path
