"""What an experiment is: variants with traffic shares, each a named pipeline configuration."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.registry import EXPERIMENT_SURFACES, SINGLE_MODELS, SOURCE_NAMES


class Variant(BaseModel):
    """One arm: how /recommends builds a list for the users assigned to it. Unset fields keep the default
    pipeline's setting."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    share: float = Field(gt=0, le=1, description="the part of the experiment's users it gets")
    ranker: bool = Field(True, description="order candidates by the served ranker (false: recall order)")
    sources: list[str] | None = Field(None, description="recall sources used (default: all)")
    weights: dict[str, float] | None = Field(None, description="merge weight per source (default: the registry's)")
    candidates: int | None = Field(None, ge=1, le=300, description="candidates recalled and ranked per request "
                                   "(at most the 300 each list is read to)")

    model: Literal[SINGLE_MODELS] | None = Field(  # type: ignore[valid-type]
        None, description="serve one model alone, in its own order (its batch list; never ranked, no other source)")

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: list[str] | None) -> list[str] | None:
        unknown = [s for s in value or [] if s not in SOURCE_NAMES]
        if unknown or value == []:
            raise ValueError(f"sources must be a non-empty list among {', '.join(SOURCE_NAMES)}; got {value}")
        return value

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        bad = [s for s, w in (value or {}).items() if s not in SOURCE_NAMES or w < 0]
        if bad:
            raise ValueError(f"weights must be non-negative, for sources among {', '.join(SOURCE_NAMES)}: {bad}")
        return value

    @model_validator(mode="after")
    def _model_alone(self) -> "Variant":
        clash = [f for f in ("sources", "weights") if getattr(self, f) is not None] if self.model else []
        if clash:
            raise ValueError(f"a variant serving one model ({self.model}) takes no {', '.join(clash)}")
        return self


class ExperimentSpec(BaseModel):
    """``POST /experiments``: the first variant is the control the others are compared with."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    surface: Literal[EXPERIMENT_SURFACES] = Field(EXPERIMENT_SURFACES[0],   # type: ignore[valid-type]
                                                  description="the list it changes; one running experiment each")
    variants: list[Variant] = Field(min_length=2, max_length=6)

    @model_validator(mode="after")
    def _shares_and_names(self) -> "ExperimentSpec":
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must differ: {names}")
        total = sum(v.share for v in self.variants)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"variant shares must add up to 1; they add up to {total:g}")
        return self
