"""Request models of the API: validation and the OpenAPI description come from these."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ingest.events import MAX_ID


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserPath(_Strict):
    user_id: int = Field(gt=0, le=MAX_ID, description="User id")


class AnimePath(_Strict):
    anime_id: int = Field(gt=0, le=MAX_ID, description="MyAnimeList anime id")


class TopK(_Strict):
    k: int = Field(10, ge=1, le=300, description="How many titles to return")


class SeedTopK(_Strict):
    k: int = Field(5, ge=1, le=100, description="How many titles to return (the seed's default is 5)")
