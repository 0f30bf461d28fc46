"""``GET /metrics``: Prometheus text exposition of the API and of its view of the platform.

Counted per request, in every worker (prometheus-client's multiprocess mode when the launcher sets
``PROMETHEUS_MULTIPROC_DIR``, so a scrape answered by one gunicorn worker sums them all):

* ``animerec_http_request_duration_seconds{route,method}`` (histogram) and
  ``animerec_http_responses_total{route,method,status}``; ``route`` is the URL rule (``/recommends/<user_id>``),
  so the label set stays small;
* ``animerec_kafka_publish_errors_total{route}``: events the broker did not acknowledge (answered 503);
* ``animerec_cache_lookups_total{cache,result}``: recall-list and title-details cache hits and misses.

Collected when scraped, from the same cached dependency states ``/health`` reports (a scrape costs no
more than a health check): dependency up/down, streaming consumer lag per topic, the serving ranker's
version and each recall list's version.
"""
from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, multiprocess
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily

from api.auth import PUBLIC, access
from api.deps import Resources
from api.instruments import INSTRUMENTS, REQUEST_SECONDS, RESPONSES

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class HealthCollector:
    def __init__(self, resources: Resources):
        self.resources = resources

    def collect(self):
        states = self.resources.health()
        up = GaugeMetricFamily("animerec_dependency_up", "1 when the dependency answers", labels=["dependency"])
        for name in ("kafka", "cassandra", "streaming"):
            up.add_metric([name], 1.0 if states.get(name) == "up" else 0.0)
        yield up
        lag = GaugeMetricFamily("animerec_streaming_consumer_lag",
                                "Events in Kafka the streaming job has not checkpointed yet", labels=["topic"])
        if isinstance(states.get("streaming_lag"), dict):
            for topic, value in states["streaming_lag"].items():
                lag.add_metric([topic], float(value))
        yield lag
        model = GaugeMetricFamily("animerec_ranker_info", "The ranker version serving (1 = serving)",
                                  labels=["version"])
        if isinstance(states.get("ranker"), str) and not states["ranker"].startswith("down"):
            model.add_metric([states["ranker"]], 1.0)
        yield model
        lists = GaugeMetricFamily("animerec_recall_list_version", "Version each recall list pointer names",
                                  labels=["list"])
        if isinstance(states.get("recall"), dict):
            for name, version in states["recall"].items():
                if version is not None:
                    lists.add_metric([name], float(version))
        yield lists


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def register_metrics(app: Flask, resources: Resources) -> None:
    """Time and count every request and serve ``/metrics``."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Instruments())
    registry.register(HealthCollector(resources))
    app.extensions["animerec_metrics"] = registry

    @app.before_request
    def _start():
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        started = g.get("started")
        if started is not None:
            route = _route()
            REQUEST_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
            RESPONSES.labels(route, request.method, str(response.status_code)).inc()
        return response

    @app.route("/metrics")
    @access(PUBLIC)
    def metrics():
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Instruments:
    """This process's own instruments (single-process mode: tests, ``flask run``)."""

    def collect(self):
        for collector in INSTRUMENTS:
            yield from collector.collect()



def serving_summary(registry: CollectorRegistry) -> list[dict]:
    """Per route and method (every worker's counts): requests, 4xx and 5xx answers, the 5xx share, and latency
    percentiles estimated from the histogram's buckets (as Prometheus' ``histogram_quantile`` does), busiest first."""
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = {}
    statuses: dict[tuple[str, str], dict[str, float]] = {}
    for family in registry.collect():
        for sample in family.samples:
            labels = sample.labels
            if sample.name == f"{REQUEST_SECONDS._name}_bucket":
                buckets.setdefault((labels["route"], labels["method"]), []).append((float(labels["le"]), sample.value))
            elif sample.name == f"{RESPONSES._name}_total":
                by = statuses.setdefault((labels["route"], labels["method"]), {})
                by[labels["status"][0] + "xx"] = by.get(labels["status"][0] + "xx", 0.0) + sample.value
    rows = []
    for (route, method), counts in buckets.items():
        counts.sort()
        total = counts[-1][1] if counts else 0.0
        if total <= 0:
            continue
        answered = statuses.get((route, method), {})
        rows.append({"route": route, "method": method, "requests": int(total),
                     "errors_4xx": int(answered.get("4xx", 0)), "errors_5xx": int(answered.get("5xx", 0)),
                     "error_rate": round(answered.get("5xx", 0) / total, 4),
                     **{f"p{q}_ms": _quantile(counts, q / 100) for q in (50, 95, 99)}})
    return sorted(rows, key=lambda r: -r["requests"])


def _quantile(cumulative: list[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile in ms from cumulative ``(upper bound s, count)`` buckets, linear within a bucket."""
    total = cumulative[-1][1]
    rank, lower, below = q * total, 0.0, 0.0
    for upper, count in cumulative:
        if count >= rank:
            if upper == float("inf"):
                return round(lower * 1000, 2)   # beyond the last finite bound: report that bound
            share = (rank - below) / (count - below) if count > below else 1.0
            return round((lower + (upper - lower) * share) * 1000, 2)
        lower, below = upper, count
    return None
