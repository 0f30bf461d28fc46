from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from ingest.events import Event, EventIn


def test_event_from_request_fills_id_and_time():
    event = Event.from_request("click", EventIn(user_id=3, anime_id=5114))
    assert event.kind == "click" and event.user_id == 3 and event.anime_id == 5114
    assert len(event.event_id) == 32 and event.timestamp > 1_700_000_000_000


def test_given_event_id_and_timestamp_are_kept():
    body = EventIn(user_id=3, anime_id=1, event_id="abc-1", timestamp=datetime(2024, 1, 2, tzinfo=timezone.utc))
    event = Event.from_request("view", body)
    assert event.event_id == "abc-1"
    assert event.timestamp == 1_704_153_600_000


def test_event_round_trips_through_bytes():
    event = Event.from_request("click", EventIn(user_id=3, anime_id=1))
    assert Event.from_bytes(event.to_bytes()) == event


@pytest.mark.parametrize("body", [
    {"user_id": 0, "anime_id": 1}, {"user_id": True, "anime_id": 1}, {"user_id": 1.5, "anime_id": 1},
    {"user_id": 1}, {"user_id": 1, "anime_id": 2**31}, {"user_id": 1, "anime_id": 1, "other": 1},
    {"user_id": 1, "anime_id": 1, "event_id": ""}, {"user_id": 1, "anime_id": 1, "event_id": "a b"},
])
def test_invalid_bodies_are_rejected(body):
    with pytest.raises(ValidationError):
        EventIn.model_validate(body)
