"""Serving through experiments: the arm (experiment and variant) of a request, the pipeline it builds the list
with, and the served list handed to Kafka.

A running experiment of a surface takes every user of that surface: each is served through the variant a
stable hash assigns (experiments/assign.py). Every served list, in an experiment or not (``default``), is
published to Kafka (``served_lists``) without waiting for Kafka: the response never waits; a full queue, a
refusal or a lost delivery drops the list and counts it (``animerec_served_lists_total{result="dropped"}``).
"""
from __future__ import annotations

import uuid

from flask import current_app

from api.instruments import SERVED_LISTS
from config.registry import SERVED_LISTS as SERVED_TOPIC
from experiments import Variant, variant_for
from ingest.events import ServedItem, ServedList, now_ms
from ranking.recommender import DEFAULT, Pipeline

DEFAULT_ARM = "default"


def _resources():
    return current_app.extensions["animerec"]


def pipeline_of(variant: Variant | None) -> Pipeline:
    if variant is None:
        return DEFAULT
    if variant.model is not None:
        return Pipeline(ranker=False, sources=(variant.model,), candidates=variant.candidates)
    return Pipeline(ranker=variant.ranker, sources=tuple(variant.sources) if variant.sources else None,
                    weights=variant.weights, candidates=variant.candidates)


def arm_for(surface: str, user_id: int) -> tuple[str, Variant | None]:
    """The running experiment of ``surface`` and the user's variant in it (``default``, None outside one)."""
    running = _resources().running_experiment(surface)
    if running is None:
        return DEFAULT_ARM, None
    return running["experiment_id"], variant_for(running["experiment_id"], running["variants"], user_id)


def publish_served(surface: str, user_id: int, experiment_id: str, variant: str, items: list[int]) -> str:
    """Hand the served list to Kafka without waiting; its request id."""
    request_id = uuid.uuid4().hex
    record = ServedList(request_id=request_id, user_id=user_id, surface=surface, experiment_id=experiment_id,
                        variant=variant, items=[ServedItem(anime_id=a, position=i + 1) for i, a in enumerate(items)],
                        timestamp=now_ms())
    handed = _resources().producer.offer(SERVED_TOPIC.name, user_id, record.to_bytes(), _count_delivery)
    if not handed:
        SERVED_LISTS.labels("dropped").inc()
    return request_id


def _count_delivery(acknowledged: bool) -> None:
    SERVED_LISTS.labels("published" if acknowledged else "dropped").inc()
