"""Outages answered honestly, without services: a store that is down is a 503 with Retry-After on every
read route (never a 500), and /health is 503 naming each component that is down."""
from __future__ import annotations

import pytest

from api.app import create_app
from config import Settings
from store import StoreUnavailable
from tests.unit.test_api_catalog import _closed_port, memory_store


class DownStore:
    """Every store call fails the way an unreachable Cassandra does (after the catalog was read)."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        if name in ("list_anime", "anime_frame", "catalog_rows"):
            return getattr(self._store, name)

        def fail(*args, **kwargs):
            raise StoreUnavailable("Cassandra unavailable (read): NoHostAvailable")
        return fail


@pytest.fixture
def app():
    settings = Settings(kafka={"bootstrap_servers": f"127.0.0.1:{_closed_port()}", "request_timeout_ms": 500},
                        cassandra={"port": _closed_port()})
    app = create_app(settings, memory_store())
    resources = app.extensions["animerec"]
    resources.catalog  # the catalog was read while the store was up
    resources.__dict__["store"] = DownStore(resources.store)
    resources.lists.store = resources.store
    resources.recommender.store = resources.store
    return app


@pytest.mark.parametrize("path", ["/recommends/5", "/recall/5", "/rank/5", "/sim/1", "/anime/1",
                                  "/user?user_id=567"])
def test_a_down_store_is_503_with_retry_after(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["dependency"] == "cassandra" and "unavailable" in body["error"]


def test_health_is_503_naming_what_is_down(app):
    response = app.test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert {"kafka", "cassandra"} <= set(body["down"])
