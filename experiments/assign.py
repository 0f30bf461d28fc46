"""Which variant a user sees: a stable hash of the experiment id and the user id, mapped onto the shares.

The same user always gets the same variant of an experiment (no state kept), users spread over the variants
in proportion to their shares, and assignments of two experiments are independent (the id is hashed in).
"""
from __future__ import annotations

import hashlib

from experiments.model import Variant


def bucket_of(experiment_id: str, user_id: int) -> float:
    """A uniform number in [0, 1) fixed by the pair."""
    digest = hashlib.sha256(f"{experiment_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def variant_for(experiment_id: str, variants: list[Variant], user_id: int) -> Variant:
    point, edge = bucket_of(experiment_id, user_id), 0.0
    for variant in variants:
        edge += variant.share
        if point < edge:
            return variant
    return variants[-1]    # shares add up to 1 within rounding
