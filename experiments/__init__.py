"""Experiments: A/B tests of whole recommendation pipelines, judged by what viewers then do.

An experiment (:class:`ExperimentSpec`) has variants, each a pipeline configuration (ranker on or off, the
recall sources used and their merge weights, how many candidates are ranked) with a traffic share; a user is
assigned by a stable hash of their id and the experiment's (:func:`variant_for`). The API serves each
request through its variant and publishes the served list to Kafka; the streaming job joins lists with the
clicks, views and ratings that follow within the attribution window and writes per-variant counts
(``experiment_metrics``); :func:`summarise` turns them into rates with confidence intervals, a test of the
click-through difference, and a sample-ratio check.
"""
from __future__ import annotations

from experiments.assign import bucket_of, variant_for
from experiments.model import ExperimentSpec, Variant
from experiments.stats import summarise

__all__ = ["ExperimentSpec", "Variant", "bucket_of", "summarise", "variant_for"]
