"""Request models of the API: validation and the OpenAPI description come from these."""
from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal

from flask_openapi3 import FileStorage
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.registry import ROLES
from ingest.events import MAX_ID, EventIn


class _Strict(BaseModel):
    """Unknown fields are errors. flask-openapi3 calls ``model_json_schema()`` on every request of a
    route with a query or form model; generating it costs ~3 ms, so each argument set's schema is
    generated once and handed out as copies."""

    model_config = ConfigDict(extra="forbid")
    _schemas: ClassVar[dict] = {}

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        key = (cls, args, tuple(sorted(kwargs.items())))
        try:
            schema = _Strict._schemas[key]
        except KeyError:
            schema = _Strict._schemas[key] = super().model_json_schema(*args, **kwargs)
        except TypeError:  # unhashable arguments: no caching
            return super().model_json_schema(*args, **kwargs)
        return copy.deepcopy(schema)


class UserPath(_Strict):
    user_id: int = Field(gt=0, le=MAX_ID, description="User id")


class AnimePath(_Strict):
    anime_id: int = Field(gt=0, le=MAX_ID, description="MyAnimeList anime id")


class TopK(_Strict):
    k: int = Field(10, ge=1, le=300, description="How many titles to return")


class SeedTopK(_Strict):
    k: int = Field(5, ge=1, le=100, description="How many titles to return (the seed's default is 5)")


# --- catalog query, a user's ratings, ratings, uploads ------------------------------------------
_SORTS = Literal["rating", "-rating", "members", "-members", "name", "-name", "episodes", "-episodes",
                 "anime_id", "-anime_id"]


def _bound(what: str, side: str, **kw):
    word = "more" if side == "mt" else "less"
    return Field(None, allow_inf_nan=False, description=f"Only titles with {word} than this {what} (strict)", **kw)


class AnimeQuery(_Strict):
    """GET /anime. With no parameter at all the answer also describes these filters."""

    mt_episodes: int | None = _bound("many episodes", "mt", ge=-1, le=MAX_ID)
    lt_episodes: int | None = _bound("many episodes", "lt", ge=0, le=MAX_ID)
    mt_rating: float | None = _bound("catalog rating (0-10)", "mt", ge=-1, le=10)
    lt_rating: float | None = _bound("catalog rating (0-10)", "lt", ge=0, le=11)
    mt_members: int | None = _bound("many members", "mt", ge=-1, le=MAX_ID)
    lt_members: int | None = _bound("many members", "lt", ge=0, le=MAX_ID)
    genre: list[str] = Field([], max_length=20,
                             description="Genre the title must have; repeat for several (all must match), "
                                         "case-insensitive, e.g. genre=Drama&genre=Romance")
    type: str | None = Field(None, min_length=1, max_length=32,
                             description="Type of the title: TV, Movie, OVA, Special, ONA or Music (case-insensitive)")
    q: str | None = Field(None, min_length=1, max_length=200, description="The name contains this text (case-insensitive)")
    sort: _SORTS = Field("-members", description="Order: rating, members, name, episodes or anime_id; "
                                                 "prefix '-' for descending; unknown values last; ties by anime_id")
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1")
    limit: int = Field(20, ge=1, le=100, description="Titles per page (1-100)")


class UserRatingsQuery(_Strict):
    """GET /user. With no parameter at all the answer describes the parameters instead."""

    user_id: int | None = Field(None, gt=0, le=MAX_ID, description="User id (required unless no parameter is given)")
    mt_rating: float | None = Field(None, allow_inf_nan=False, ge=-1, le=10,
                                    description="Only ratings above this (strict); any bound excludes -1 (no score)")
    lt_rating: float | None = Field(None, allow_inf_nan=False, ge=-1, le=11,
                                    description="Only ratings below this (strict); any bound excludes -1 (no score)")
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1")
    limit: int = Field(100, ge=1, le=1000, description="Ratings per page (1-1000)")


def _whole(value):
    """A rating is an integer: ``7`` or ``7.0``, not ``true`` or ``7.5``."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("must be an integer")
    return value


def _on_scale(value: int) -> int:
    if value != -1 and not 1 <= value <= 10:
        raise ValueError("must be 1..10, or -1 for watched without a score")
    return value


class RatingIn(EventIn):
    """Body of POST /ratings: a user's rating of a title, sent on as a 'rating' event."""

    rating: int = Field(description="1..10, or -1 for watched without a score")

    _integer = field_validator("rating", mode="before")(lambda value: _whole(value))
    _scale = field_validator("rating")(lambda value: _on_scale(value))


MAX_BATCH = 1_000


class BatchEventIn(EventIn):
    """One event of POST /events: a click, a view, or a rating (which carries ``rating``)."""

    kind: Literal["click", "view", "rating", "impression"]
    rating: int | None = Field(None, description="rating events only: 1..10, or -1 for watched without a score")

    _integer = field_validator("rating", mode="before")(lambda value: _whole(value))
    _scale = field_validator("rating")(lambda value: None if value is None else _on_scale(value))

    @model_validator(mode="after")
    def _rating_matches_kind(self) -> "BatchEventIn":
        if self.kind == "rating" and self.rating is None:
            raise ValueError("a rating event needs 'rating'")
        if self.kind != "rating" and self.rating is not None:
            raise ValueError(f"a {self.kind} event takes no 'rating'")
        return self


class EventBatch(BaseModel):
    """Body of POST /events. An error names the event by its index: ``events.<i>.<field>``."""

    model_config = ConfigDict(extra="forbid")
    events: list[BatchEventIn] = Field(min_length=1, max_length=MAX_BATCH)


SURFACE = Field(None, pattern=r"^[a-z0-9-]{1,32}$", description="Where the titles were shown, e.g. for-you, "
                                                                  "trending, similar (lowercase, digits, '-')")


class ImpressionsIn(_Strict):
    """Body of POST /impressions: the titles of one list a user was shown."""

    user_id: int = Field(gt=0, le=MAX_ID)
    anime_ids: list[int] = Field(min_length=1, max_length=100, description="The titles shown, in order")
    surface: str | None = SURFACE

    @field_validator("anime_ids")
    @classmethod
    def _ids(cls, ids: list[int]) -> list[int]:
        bad = [i for i in ids if isinstance(i, bool) or not 0 < i <= MAX_ID]
        if bad:
            raise ValueError(f"anime ids must be whole numbers in 1..{MAX_ID}: {bad[:5]}")
        return ids


class TrendingQuery(_Strict):
    """GET /trending."""

    k: int = Field(20, ge=1, le=100, description="How many titles")
    genre: str | None = Field(None, min_length=1, max_length=64, description="Only this genre's list")


class SearchQuery(_Strict):
    """GET /search."""

    q: str = Field(min_length=1, max_length=500, description="What to look for: a name (typos are fine), "
                                                             "genres, or words of a synopsis")
    k: int = Field(10, ge=1, le=50, description="How many titles")
    mode: Literal["keyword", "semantic", "hybrid"] = Field(
        "hybrid", description="keyword: names, genres and synopsis words (BM25, names typo-tolerant); semantic: "
                              "closeness in meaning to a title's name or synopsis (sentence embeddings); hybrid: "
                              "both rankings fused")


MESSAGE = Field(min_length=1, max_length=500, description="A request in plain words, e.g. 'something like Death "
                                                             "Note but shorter', 'a funny sports anime'")
CONVERSATION = Field(None, pattern=r"^[A-Za-z0-9_-]{8,64}$", description="The conversation this turn continues "
                     "(from the previous answer): its constraints carry over")


class TalkPath(_Strict):
    user_id: int = Field(gt=0, le=MAX_ID, description="User id")
    message: str = MESSAGE


class TalkQuery(_Strict):
    k: int = Field(10, ge=1, le=50, description="How many titles")
    conversation_id: str | None = CONVERSATION


class TalkIn(_Strict):
    """Body of POST /talk (a signed-in viewer's own user id is taken when ``user_id`` is left out)."""

    message: str = MESSAGE
    user_id: int | None = Field(None, gt=0, le=MAX_ID, description="Whose recommendations to mix in")
    conversation_id: str | None = CONVERSATION
    k: int = Field(10, ge=1, le=50)


class TrendsQuery(_Strict):
    days: int = Field(30, ge=1, le=365, description="How many days back, today included")
    top: int = Field(8, ge=1, le=50, description="How many genres (the most active over the period)")


class PlotPath(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]{1,64}\.png$", description="A plot of the latest evaluation report")


class RatingPath(_Strict):
    user_id: int = Field(gt=0, le=MAX_ID, description="User id")
    anime_id: int = Field(gt=0, le=MAX_ID, description="MyAnimeList anime id")


class UploadForm(_Strict):
    """multipart/form-data of POST /upload."""

    file: FileStorage = Field(description="The CSV file (UTF-8, with its header line)")
    dataset: Literal["anime", "ratings", "synopsis"] = Field(
        description="anime: anime_id,name,genre,type,episodes,rating,members; ratings: user_id,anime_id,rating; "
                    "synopsis: MAL_ID,sypnopsis")
    dry_run: bool = Field(False, description="Only parse and check the file; write nothing")


class NoQuery(_Strict):
    """For routes that take no query parameter: any one given is a 400 naming it."""


# --- accounts and keys ------------------------------------------------------------------------------
USERNAME = r"^[A-Za-z0-9_.-]{3,32}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}$"


class RegisterIn(_Strict):
    username: str = Field(pattern=USERNAME, description="3-32 letters, digits, '_', '.', '-' (case-insensitive)")
    email: str = Field(max_length=254, pattern=EMAIL)
    password: str = Field(min_length=8, max_length=128)
    display_name: str | None = Field(None, max_length=64)
    favourite_genres: list[str] = Field(default_factory=list, max_length=10,
                                        description="catalog genres; used to recommend before the first rating")


class LoginIn(_Strict):
    username: str | None = Field(None, min_length=1, max_length=254, description="the username, or give email")
    email: str | None = Field(None, min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _one_name(self) -> "LoginIn":
        if (self.username is None) == (self.email is None):
            raise ValueError("give exactly one of username and email")
        return self


class ProfileIn(_Strict):
    display_name: str | None = Field(None, max_length=64)
    favourite_genres: list[str] | None = Field(None, max_length=10)
    password: str | None = Field(None, min_length=8, max_length=128, description="a new password")


class MyRatingIn(_Strict):
    """Body of POST /me/ratings: the signed-in user's rating of a title."""

    anime_id: int = Field(gt=0, le=MAX_ID)
    rating: int = Field(description="1..10, or -1 for watched without a score")

    _integer = field_validator("rating", mode="before")(lambda value: _whole(value))
    _scale = field_validator("rating")(lambda value: _on_scale(value))


class KeyIn(_Strict):
    role: Literal[ROLES]
    name: str | None = Field(None, max_length=64, description="what the key is for")


class KeyPath(_Strict):
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")


# --- experiments ------------------------------------------------------------------------------------
class ExperimentPath(_Strict):
    experiment_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Experiment id")
