"""Structured logs: one JSON object per line, each carrying the id of the request it was written in.

A request's id is the caller's ``X-Request-ID`` when it sends a sane one (a proxy's or a client's),
else a new one; it is answered in the same header, so a client can quote it and an operator can
find every line of that request. With ``api.access_log`` each request also writes one ``animerec.access``
line: method, path, route, status and milliseconds; a request slower than ``api.slow_request_ms`` or
answered 5xx writes it as a warning in any case.
"""
from __future__ import annotations

import atexit
import logging
import queue
import re
import sys
from logging.handlers import QueueHandler, QueueListener
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}

access = logging.getLogger("animerec.access")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record that lacks one (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


def json_handler(stream=sys.stderr) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(FIELDS, rename_fields=RENAMED))
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(level: int = logging.INFO, stream=sys.stderr) -> None:
    """JSON lines on ``stream`` for every logger of the process (the API's entry point calls this once).

    Request threads only queue their records; one background thread formats and writes them, so a
    request never waits on the log's lock or its file."""
    records: queue.SimpleQueue = queue.SimpleQueue()
    to_queue = QueueHandler(records)
    to_queue.addFilter(RequestIdFilter())  # while the request context is there to read
    listener = QueueListener(records, json_handler(stream))
    listener.start()
    atexit.register(listener.stop)
    root = logging.getLogger()
    root.handlers[:] = [to_queue]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.WARNING)


def register_request_ids(app: Flask, access_log: bool, slow_ms: float) -> None:
    @app.before_request
    def _request_id():
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
        g.received = time.perf_counter()

    @app.after_request
    def _answer_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        received = g.get("received")
        if received is None:
            return response
        ms = 1000 * (time.perf_counter() - received)
        slow = ms > slow_ms or response.status_code >= 500
        if access_log or slow:
            rule = request.url_rule
            access.log(logging.WARNING if slow else logging.INFO, "slow or failed request" if slow else "request",
                       extra={"method": request.method, "path": request.path, "route": rule.rule if rule else None,
                              "status": response.status_code, "ms": round(ms, 2)})
        return response
