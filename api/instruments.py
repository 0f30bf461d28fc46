"""The API's Prometheus instruments, one definition each (served by :mod:`api.metrics`)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUEST_SECONDS = Histogram("animerec_http_request_duration_seconds", "Time from request to response",
                            ["route", "method"],
                            buckets=(.001, .0025, .005, .01, .02, .03, .05, .1, .25, .5, 1, 2.5, 5, 10))
RESPONSES = Counter("animerec_http_responses_total", "Responses by route and status", ["route", "method", "status"])
PUBLISH_ERRORS = Counter("animerec_kafka_publish_errors_total", "Events Kafka did not acknowledge", ["route"])
CACHE_LOOKUPS = Counter("animerec_cache_lookups_total", "Cache lookups by cache and result", ["cache", "result"])
SERVED_LISTS = Counter("animerec_served_lists_total", "Served lists handed to Kafka (published) or not (dropped: "
                       "the producer's queue was full, or Kafka refused or lost it)", ["result"])
ANSWER_CACHE = Counter("animerec_answer_cache_total", "The answer cache (api/answers.py): lookups (hit, miss, "
                       "bypassed while the event follower is behind), answers stored or refused (an event of the "
                       "user not yet reflected), evicted by the memory bound, users invalidated by an event",
                       ["result"])
ANSWER_CACHE_BYTES = Gauge("animerec_answer_cache_bytes", "Memory the kept answers take, summed over API processes",
                           multiprocess_mode="livesum")
INSTRUMENTS = (REQUEST_SECONDS, RESPONSES, PUBLISH_ERRORS, CACHE_LOOKUPS, SERVED_LISTS, ANSWER_CACHE,
               ANSWER_CACHE_BYTES)


def count_lookup(cache: str, hits: int, misses: int) -> None:
    """Count the ``hits`` and ``misses`` of one read of ``cache``."""
    if hits:
        CACHE_LOOKUPS.labels(cache, "hit").inc(hits)
    if misses:
        CACHE_LOOKUPS.labels(cache, "miss").inc(misses)
