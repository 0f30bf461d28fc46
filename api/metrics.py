"""``GET /metrics``: Prometheus text exposition of the API's view of the platform.

Gauges are collected when scraped, from the same cached dependency states ``/health`` reports,
so a scrape costs no more than a health check.
"""
from __future__ import annotations

from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily

from api.deps import Resources


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


def register_metrics(app: Flask, resources: Resources) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(resources))

    @app.route("/metrics")
    def metrics():
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
