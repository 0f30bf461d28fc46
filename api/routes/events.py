"""POST /clicks, /views and /events (a batch): validate, publish to Kafka, answer only once Kafka acknowledged."""
from __future__ import annotations

import logging

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from api.auth import Access, access, limited, require_own
from api.errors import ApiError
from api.instruments import PUBLISH_ERRORS
from api.models import EventBatch, ImpressionsIn
from ingest.events import Event, EventIn
from ingest.producer import EventBusUnavailable
from store.errors import StoreUnavailable

tag = Tag(name="events", description="User events; each goes onto Kafka and on to the streaming job")
blueprint = APIBlueprint("events", __name__, abp_tags=[tag])
RETRY_AFTER_S = 5
# A producer key writes anyone's events; a signed-in user writes their own.
WRITE_EVENTS = Access(roles=("producer",), own="body")
log = logging.getLogger("animerec.api.events")


def _genres(resources, anime_id: int) -> list[str]:
    """The title's genres for the event (genre affinity); an event is still taken while Cassandra is down."""
    try:
        return resources.catalog.genres_of(anime_id)
    except StoreUnavailable:
        return []


def publish(kind: str, body: EventIn, rating: int | None = None):
    resources = current_app.extensions["animerec"]
    event = Event.from_request(kind, body, rating=rating, genres=_genres(resources, body.anime_id))
    try:
        receipt = resources.producer.publish(event)
        resources.last_published = event
    except EventBusUnavailable as exc:
        PUBLISH_ERRORS.labels(f"/{kind}s").inc()
        log.warning("503 for a %s: %s", kind, exc)
        raise ApiError(503, "event bus unavailable; the event was not acknowledged (retry it with this event_id: "
                            "a repeat is counted once)", retry_after_s=RETRY_AFTER_S, event_id=event.event_id,
                       reason=str(exc)) from exc
    return {"status": "accepted", "event_id": event.event_id, "kind": kind, "timestamp": event.timestamp,
            **receipt}, 202


@blueprint.post("/clicks", summary="Record a click")
@access(WRITE_EVENTS)
@limited("write")
def post_click(body: EventIn):
    require_own([body.user_id])
    return publish("click", body)


@blueprint.post("/views", summary="Record a view (the user stayed on a title)")
@access(WRITE_EVENTS)
@limited("write")
def post_view(body: EventIn):
    require_own([body.user_id])
    return publish("view", body)


@blueprint.post("/events", summary="Record a batch of up to 1,000 clicks, views, ratings and impressions",
                description="All or nothing: one invalid event (named by its index, ``events.<i>.<field>``) "
                            "rejects the batch with 400; a 202 means Kafka acknowledged every event.")
@access(WRITE_EVENTS)
@limited("write")
def post_events(body: EventBatch):
    require_own(e.user_id for e in body.events)
    resources = current_app.extensions["animerec"]
    rated = [i for i, e in enumerate(body.events) if e.kind == "rating"]
    unknown = [i for i in rated if body.events[i].anime_id not in resources.catalog] if rated else []
    if unknown:
        details = [{"field": f"events.{i}.anime_id", "message": f"no anime {body.events[i].anime_id}"}
                   for i in unknown]
        raise ApiError(400, f"invalid request: {', '.join(d['field'] for d in details)}", details=details)
    events = [Event.from_request(e.kind, e, rating=e.rating, genres=_genres(resources, e.anime_id))
              for e in body.events]
    return publish_all(events, "/events")


@blueprint.post("/impressions", summary="Record that a user was shown a list of titles (one impression each)")
@access(WRITE_EVENTS)
@limited("write")
def post_impressions(body: ImpressionsIn):
    require_own([body.user_id])
    resources = current_app.extensions["animerec"]
    events = [Event.from_request("impression", EventIn(user_id=body.user_id, anime_id=anime_id),
                                 genres=_genres(resources, anime_id), surface=body.surface)
              for anime_id in body.anime_ids]
    return publish_all(events, "/impressions")


def publish_all(events: list[Event], route: str):
    """Publish a batch: 202 once Kafka acknowledged every event, else 503 naming them all (retry it whole)."""
    resources = current_app.extensions["animerec"]
    try:
        resources.producer.publish_many(events)
        resources.last_published = events[-1]
    except EventBusUnavailable as exc:
        PUBLISH_ERRORS.labels(route).inc(len(events))
        log.warning("503 for a batch of %d events: %s", len(events), exc)
        raise ApiError(503, "event bus unavailable; the batch was not acknowledged (retry it whole with these "
                            "event_ids: a repeat is counted once)", retry_after_s=RETRY_AFTER_S,
                       event_ids=[e.event_id for e in events], reason=str(exc)) from exc
    return {"status": "accepted", "count": len(events), "event_ids": [e.event_id for e in events]}, 202
