"""The event schema: what producers post and what travels on the Kafka topics."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# An impression: a title was shown in a list (the web app posts one per title of each list it shows).
EventKind = Literal["click", "view", "rating", "impression"]
MAX_ID = 2**31 - 1  # ids are Cassandra ints


def now_ms() -> int:
    return int(time.time() * 1000)


class EventIn(BaseModel):
    """Body of POST /clicks and POST /views."""

    model_config = ConfigDict(extra="forbid", strict=False)

    user_id: int = Field(gt=0, le=MAX_ID)
    anime_id: int = Field(gt=0, le=MAX_ID)
    timestamp: datetime | None = Field(None, description="Event time: ISO-8601 or epoch seconds/milliseconds; "
                                                         "defaults to the time the API receives it.")
    event_id: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$",
                                 description="Idempotency key; a repeated event_id is stored once.")

    @field_validator("user_id", "anime_id", mode="before")
    @classmethod
    def _reject_bool_and_float(cls, value):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be an integer")
        return value


class Event(BaseModel):
    """An event as it travels on Kafka (JSON) and reaches the streaming job."""

    model_config = ConfigDict(extra="ignore")

    event_id: str
    kind: EventKind
    user_id: int
    anime_id: int
    timestamp: int  # epoch milliseconds, event time
    rating: int | None = None
    # The title's genres, added by whoever publishes the event (the API from its cached catalog, the
    # replay from the catalog file), so the streaming job updates genre affinity without a lookup.
    genres: list[str] = []
    # Where the title was shown or clicked (a list of the web app: for-you, trending, similar, ...), if known.
    surface: str | None = None

    @classmethod
    def from_request(cls, kind: EventKind, body: EventIn, rating: int | None = None,
                     genres: list[str] | None = None, surface: str | None = None) -> "Event":
        ts = now_ms() if body.timestamp is None else _to_ms(body.timestamp)
        return cls(event_id=body.event_id or uuid.uuid4().hex, kind=kind, user_id=body.user_id,
                   anime_id=body.anime_id, timestamp=ts, rating=rating, genres=genres or [], surface=surface)

    def to_bytes(self) -> bytes:
        fields = {"event_id": self.event_id, "kind": self.kind, "user_id": self.user_id, "anime_id": self.anime_id,
                  "timestamp": self.timestamp, "rating": self.rating, "genres": self.genres}
        if self.surface is not None:
            fields["surface"] = self.surface
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> "Event":
        return cls.model_validate_json(raw)


class ServedItem(BaseModel):
    anime_id: int
    position: int          # 1 = first shown


class ServedList(BaseModel):
    """A list the API served (topic ``served_lists``): the streaming job attributes later clicks, views and
    ratings of its titles by the same user to it, per experiment and variant (``default`` outside one)."""

    model_config = ConfigDict(extra="ignore")

    request_id: str
    user_id: int
    surface: str
    experiment_id: str
    variant: str
    items: list[ServedItem]
    timestamp: int         # epoch milliseconds

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def _to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)
