"""The API: a thin Flask app over the store, the event producer and the recommender."""
from __future__ import annotations

from flask_openapi3 import Info, OpenAPI, Tag

from accounts import jwt_secret
from api import auth, errors
from api.deps import Resources
from api.logs import register_request_ids
from api.metrics import register_metrics
from api.routes import (account, admin, catalog, dashboard, events, experiments, ratings, recs, search, talk,
                        upload)
from api.web import register_web
from config import Settings
from store import Store

OPENAPI_URL = "/openapi"  # interactive viewer: /openapi/swagger


def create_app(settings: Settings, store: Store | None = None) -> OpenAPI:
    app = OpenAPI(__name__, info=Info(title="animerec", version="0.1.0",
                                      description="Streaming recall-and-rank recommendations for anime."),
                  doc_prefix=OPENAPI_URL, validation_error_status=400, security_schemes=auth.SECURITY_SCHEMES,
                  validation_error_callback=errors.validation_error_response)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = settings.api.max_body_bytes      # 413 beyond it (/upload has its own)
    app.extensions["animerec"] = resources = Resources(settings, store)
    errors.register(app)
    register_request_ids(app, access_log=settings.api.access_log, slow_ms=settings.api.slow_request_ms)
    for module in (account, events, recs, catalog, search, talk, ratings, upload, admin, dashboard, experiments):
        app.register_api(module.blueprint)
    _register_health(app)
    register_web(app, settings.api.web_dir)
    register_metrics(app, resources)
    auth.register(app, settings, jwt_secret(settings))
    auth.document(app)
    return app


def _register_health(app: OpenAPI) -> None:
    tag = Tag(name="ops", description="Operations (public: health and Prometheus metrics)")

    @app.get("/health", tags=[tag], summary="Each dependency's state; 200 when every component is up, else 503 "
                                            "naming the ones that are down")
    @auth.access(auth.PUBLIC)
    def health():
        """``down`` names each component that does not answer: Kafka, Cassandra, or the streaming job (whose
        state is ``unknown``, not down, where this API cannot see it: a job run by another host)."""
        states = app.extensions["animerec"].health()
        down = [name for name in ("kafka", "cassandra", "streaming") if states[name] not in ("up", "unknown")]
        return ({"status": "degraded" if down else "ok", "down": down, "dependencies": states},
                503 if down else 200)

