"""Flink operators of the streaming job (run inside PyFlink's Python workers)."""
from __future__ import annotations

import logging

from pyflink.datastream import KeyedProcessFunction, RuntimeContext
from pyflink.datastream.functions import FlatMapFunction
from pyflink.common import Time, Types
from pyflink.datastream.state import MapStateDescriptor, StateTtlConfig, ValueStateDescriptor

from config import Settings
from ingest.events import Event
from store import open_store
from streaming.features import WINDOW_RETENTION_MS, bump, expired_windows, window_start

log = logging.getLogger("animerec.streaming")


class ParseEvent(FlatMapFunction):
    """JSON from Kafka -> event dict; malformed records are logged and dropped (the API validates)."""

    def flat_map(self, value):
        try:
            yield Event.from_bytes(value).model_dump()
        except ValueError as exc:
            log.warning("dropping malformed event %r: %s", value[:200], exc)


class WriteFeatures(KeyedProcessFunction):
    """Per title: store each event, keep click/view counts in state, write them as absolute values."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def open(self, runtime_context: RuntimeContext):
        self.store = open_store(self.settings, retries=30)
        self.totals = runtime_context.get_state(ValueStateDescriptor("totals", Types.PICKLED_BYTE_ARRAY()))
        self.windows = runtime_context.get_map_state(
            MapStateDescriptor("windows", Types.LONG(), Types.PICKLED_BYTE_ARRAY()))
        # Ids of events already counted: a producer retry or a replay must not count twice.
        seen = MapStateDescriptor("seen", Types.STRING(), Types.BOOLEAN())
        seen.enable_time_to_live(StateTtlConfig.new_builder(Time.milliseconds(WINDOW_RETENTION_MS)).build())
        self.seen = runtime_context.get_map_state(seen)

    def close(self):
        self.store.close()

    def process_element(self, event, ctx: KeyedProcessFunction.Context):
        if self.seen.contains(event["event_id"]):
            return
        self.seen.put(event["event_id"], True)
        self.store.write_event(event)
        if event["kind"] == "rating":
            self._apply_rating(event)
            return
        totals = bump(self.totals.value(), event["kind"])
        start = window_start(event["timestamp"])
        window = bump(self.windows.get(start), event["kind"])
        self.totals.update(totals)
        self.windows.put(start, window)
        self.store.set_event_counts(event["anime_id"], *totals)
        self.store.set_window_counts(event["anime_id"], start, *window)
        for old in expired_windows(list(self.windows.keys()), event["timestamp"]):
            self.windows.remove(old)
        yield event["anime_id"]

    def _apply_rating(self, event) -> None:
        if event["rating"] is None:
            self.store.delete_rating(event["user_id"], event["anime_id"])
        else:
            self.store.upsert_ratings([(event["user_id"], event["anime_id"], event["rating"])])
