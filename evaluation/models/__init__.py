"""Model registry of the evaluation harness.

To evaluate a new model (e.g. the platform's recall + ranker pipeline):

1. subclass ``Recommender`` (``fit`` + ``recommend``) or, if it can score every title,
   ``ScoringRecommender`` (``_fit`` + ``score_users``); accept ``seed`` as the first
   keyword argument and give every other constructor argument a default;
2. register it: ``MODELS["pipeline"] = PipelineRecommender`` (or decorate the class
   with ``@register_model("pipeline")``) in a module imported here; or, without
   touching this package, pass ``--models my.module:PipelineRecommender`` to the CLI.

Optional: implement ``predict_scores`` for RMSE/MAE; set ``tuning_grid`` to have the
harness choose constructor arguments on a validation split carved from train.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from evaluation.models.als import ImplicitALS
from evaluation.models.base import Recommender, ScoringRecommender, top_k_indices
from evaluation.models.biased_mf import BiasedMF
from evaluation.models.ease import EASE
from evaluation.models.item_knn import ItemKNN
from evaluation.models.neural_cf import NeuralCF
from evaluation.models.nmf import NMFGroup, NMFWeighted
from evaluation.models.pipeline import Pipeline
from evaluation.models.popularity import Popularity
from evaluation.models.user_knn import UserKNN

BASELINES: dict[str, type[Recommender]] = {
    "popularity": Popularity,
    "nmf-group": NMFGroup,
    "nmf-weighted": NMFWeighted,
    "item-knn": ItemKNN,
    "user-knn": UserKNN,
    "als": ImplicitALS,
    "ease": EASE,
    "neural-cf": NeuralCF,
    "biased-mf": BiasedMF,
}
# The platform's own recall merge + TF ranker, by the serving code (builds recall with Spark).
MODELS: dict[str, type[Recommender]] = {**BASELINES, "pipeline": Pipeline}


def register_model(name: str) -> Callable[[type[Recommender]], type[Recommender]]:
    """Class decorator adding a model to ``MODELS`` under ``name``."""
    def register(cls: type[Recommender]) -> type[Recommender]:
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} already registered to {MODELS[name].__name__}")
        MODELS[name] = cls
        return cls
    return register


def resolve_model(spec: str) -> type[Recommender]:
    """A registered name, or ``package.module:ClassName`` of any ``Recommender`` subclass."""
    if spec in MODELS:
        return MODELS[spec]
    if ":" not in spec:
        raise KeyError(f"unknown model {spec!r}; registered: {', '.join(MODELS)}")
    module_name, class_name = spec.split(":", 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Recommender)):
        raise TypeError(f"{spec} is not a Recommender subclass")
    return cls


__all__ = ["MODELS", "Recommender", "ScoringRecommender", "register_model", "resolve_model", "top_k_indices"]
