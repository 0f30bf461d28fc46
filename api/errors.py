"""Every error leaves the API as JSON: {"error": ..., "details": [...]} and a 4xx/5xx status."""
from __future__ import annotations

import logging

from flask import jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from store.errors import StoreUnavailable

log = logging.getLogger("animerec.api")
STORE_RETRY_AFTER_S = 5


class ApiError(Exception):
    """An error answer: ``status``, a message, extra JSON fields; ``retry_after_s`` also sets ``Retry-After``."""

    def __init__(self, status: int, message: str, retry_after_s: int | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.retry_after_s, self.extra = status, message, retry_after_s, extra


def not_found(what: str, ident) -> ApiError:
    return ApiError(404, f"{what} {ident} not found")


def error_response(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def validation_error_response(exc: ValidationError):
    """400 naming each bad field (used by flask-openapi3 for path, query and body models)."""
    details = [{"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
               for err in exc.errors(include_url=False)]
    fields = ", ".join(d["field"] for d in details)
    return error_response(400, f"invalid request: {fields}", details=details)


def answer(exc: ApiError):
    """The JSON response of an :class:`ApiError` (with ``Retry-After`` when it has one)."""
    if exc.retry_after_s is None:
        return error_response(exc.status, exc.message, **exc.extra)
    response = error_response(exc.status, exc.message, retry_after_s=exc.retry_after_s, **exc.extra)
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def register(app) -> None:
    app.errorhandler(ApiError)(answer)

    @app.errorhandler(StoreUnavailable)
    def _store_down(exc: StoreUnavailable):
        """Cassandra down or too slow, on any route: 503 and when to try again, never a 500."""
        log.warning("503, store unavailable: %s", exc)
        return answer(ApiError(503, "the store is unavailable; try again shortly",
                               retry_after_s=STORE_RETRY_AFTER_S, dependency="cassandra"))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.response is not None and exc.response.mimetype == "application/json":
            return exc.response  # already ours (validation)
        return error_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal error")
