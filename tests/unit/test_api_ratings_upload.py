"""POST/DELETE /ratings and POST /upload without services: validation, the events sent, the loader's answer."""
from __future__ import annotations

import io
import socket

import pytest

from api.app import create_app
from config import Settings
from ingest.events import Event
from ingest.producer import EventBusUnavailable
from ranking.catalog import Catalog
from store import MemoryStore, StoreUnavailable

CATALOG_ROWS = [
    {"anime_id": 1, "name": "Cowboy Bebop", "genres": ["Action"], "type": "TV", "episodes": 26, "rating": 8.8,
     "members": 100},
    {"anime_id": 5114, "name": "Fullmetal Alchemist: Brotherhood", "genres": ["Drama"], "type": "TV",
     "episodes": 64, "rating": 9.26, "members": 200},
]
CATALOG = Catalog.from_rows(CATALOG_ROWS)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeProducer:
    def __init__(self, down: bool = False):
        self.events: list[Event] = []
        self.offered: list[tuple[str, int, bytes]] = []
        self.down = down

    def publish(self, event: Event) -> dict:
        if self.down:
            raise EventBusUnavailable("no broker")
        self.events.append(event)
        return {"topic": "ratings", "partition": 0, "offset": len(self.events) - 1}

    def publish_many(self, events: list[Event]) -> None:
        for event in events:
            self.publish(event)

    def offer(self, topic: str, key: int, value: bytes, on_done) -> bool:
        if self.down:
            return False
        self.offered.append((topic, key, value))
        on_done(True)
        return True


class FailingStore(MemoryStore):
    """A store whose ratings writes fail the way an unreachable Cassandra fails."""

    def upsert_ratings_batched(self, rows, updated_at=None, **tuning):
        raise StoreUnavailable("Cassandra unavailable (write): NoHostAvailable")


def _memory_store(cls=MemoryStore) -> MemoryStore:
    store = cls()
    store.upsert_anime(CATALOG_ROWS)
    return store


def make_app(**settings) -> object:
    """The real app on a memory store with CATALOG and a fake producer; Kafka and Cassandra point at closed
    ports. ``settings`` are further Settings sections."""
    settings = Settings(kafka={"bootstrap_servers": f"127.0.0.1:{_closed_port()}", "request_timeout_ms": 1500},
                        cassandra={"port": _closed_port()}, **settings)
    app = create_app(settings)
    resources = app.extensions["animerec"]
    resources.__dict__.update(producer=FakeProducer(), store=_memory_store())
    resources.use_catalog(CATALOG)
    return app


@pytest.fixture
def app():
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def _events(app) -> list[Event]:
    return app.extensions["animerec"].producer.events


# --- ratings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("rating", [1, 10, -1, "7"])
def test_a_rating_goes_onto_the_stream_as_a_rating_event(app, client, rating):
    response = client.post("/ratings", json={"user_id": 42, "anime_id": 5114, "rating": rating, "event_id": "r-1"})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["kind"] == "rating" and body["event_id"] == "r-1" and body["rating"] == int(rating)
    [event] = _events(app)
    assert (event.kind, event.user_id, event.anime_id, event.rating) == ("rating", 42, 5114, int(rating))


@pytest.mark.parametrize("body,field", [
    ({"user_id": 42, "anime_id": 5114}, "rating"),
    ({"user_id": 42, "anime_id": 5114, "rating": 0}, "rating"),
    ({"user_id": 42, "anime_id": 5114, "rating": 11}, "rating"),
    ({"user_id": 42, "anime_id": 5114, "rating": -2}, "rating"),
    ({"user_id": 42, "anime_id": 5114, "rating": 7.5}, "rating"),
    ({"user_id": 42, "anime_id": 5114, "rating": True}, "rating"),
    ({"user_id": 42, "anime_id": 5114, "rating": "good"}, "rating"),
    ({"anime_id": 5114, "rating": 5}, "user_id"),
    ({"user_id": 0, "anime_id": 5114, "rating": 5}, "user_id"),
    ({"user_id": 42, "anime_id": "x", "rating": 5}, "anime_id"),
    ({"user_id": 42, "anime_id": 5114, "rating": 5, "stars": 3}, "stars"),
])
def test_bad_rating_bodies_are_400_and_send_nothing(app, client, body, field):
    response = client.post("/ratings", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]
    assert _events(app) == []


def test_rating_an_unknown_title_is_404(app, client):
    response = client.post("/ratings", json={"user_id": 42, "anime_id": 999, "rating": 5})
    assert response.status_code == 404 and response.get_json()["error"] == "anime 999 not found"
    assert client.delete("/ratings/42/999").status_code == 404
    assert _events(app) == []


def test_delete_sends_a_rating_event_without_a_rating(app, client):
    response = client.delete("/ratings/42/5114")
    assert response.status_code == 202
    assert response.get_json()["rating"] is None
    [event] = _events(app)
    assert (event.kind, event.user_id, event.anime_id, event.rating) == ("rating", 42, 5114, None)


@pytest.mark.parametrize("path,field", [("/ratings/x/5114", "user_id"), ("/ratings/42/0", "anime_id"),
                                        ("/ratings/42/5114?force=1", "force")])
def test_bad_delete_paths_are_400(client, path, field):
    response = client.delete(path)
    assert response.status_code == 400 and field in response.get_json()["error"]


def test_rating_is_503_when_kafka_cannot_take_it(app, client):
    app.extensions["animerec"].__dict__["producer"] = FakeProducer(down=True)
    response = client.post("/ratings", json={"user_id": 42, "anime_id": 5114, "rating": 5})
    assert response.status_code == 503 and "not acknowledged" in response.get_json()["error"]


# --- upload -----------------------------------------------------------------------------------

def _upload(client, content: bytes, dataset: str = "ratings", name: str = "ratings.csv", **fields):
    return client.post("/upload", data={"dataset": dataset, "file": (io.BytesIO(content), name), **fields},
                       content_type="multipart/form-data")


RATINGS = (b"user_id,anime_id,rating\n"
           b"42,1,9\n"
           b"42,x,5\n"
           b"43,5114,11\n"
           b"43,5114,-1\n")


def test_upload_keeps_the_good_rows_and_reports_the_bad_ones_by_line(app, client):
    response = _upload(client, RATINGS)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["rows_read"], body["rows_loaded"], body["rows_rejected"]) == ("complete", 4, 2, 2)
    assert [(r["line"], r["code"]) for r in body["rejections"]] == [(3, "anime_id_not_integer"),
                                                                    (4, "rating_out_of_range")]
    assert body["file_name"] == "ratings.csv" and body["run_id"]
    store = app.extensions["animerec"].store
    assert sorted(store.all_ratings()) == [(42, 1, 9), (43, 5114, -1)]
    [run] = store.load_runs("ratings")
    assert (run["status"], str(run["run_id"]), run["rows_loaded"]) == ("complete", body["run_id"], 2)


def test_dry_run_writes_nothing(app, client):
    body = _upload(client, RATINGS, dry_run="true").get_json()
    assert body["status"] == "checked" and body["rows_rejected"] == 2 and body["rows_loaded"] == 0
    store = app.extensions["animerec"].store
    assert store.all_ratings() == [] and store.load_runs("ratings") == []


@pytest.mark.parametrize("content,dataset", [(b"", "ratings"), (b"a,b\n1,2\n", "ratings"),
                                             (b"user_id,anime_id,rating\n1,2,3\n", "anime"),
                                             (b"\xff\xfe\x00bad", "synopsis")])
def test_a_file_of_the_wrong_format_is_400_and_writes_nothing(app, client, content, dataset):
    response = _upload(client, content, dataset=dataset)
    assert response.status_code == 400
    body = response.get_json()
    assert body["details"][0]["field"] == "file" and body["dataset"] == dataset
    assert app.extensions["animerec"].store.load_runs(dataset) == []


@pytest.mark.parametrize("data,field", [({"dataset": "ratings"}, "file"), ({"dataset": "users"}, "dataset"),
                                        ({}, "dataset"), ({"dataset": "ratings", "mode": "x"}, "mode")])
def test_bad_upload_forms_are_400(client, data, field):
    if field != "file":
        data = {**data, "file": (io.BytesIO(RATINGS), "r.csv")}
    response = client.post("/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert field in response.get_json()["error"]


def test_too_large_upload_is_413_json(app, client):
    app.config["UPLOAD_MAX_BYTES"] = 1024
    response = _upload(client, RATINGS + b"44,1,5\n" * 500)
    assert response.status_code == 413
    body = response.get_json()
    assert "too large" in body["error"] and body["limit_bytes"] == 1024
    assert app.extensions["animerec"].store.load_runs("ratings") == []
    assert _upload(client, RATINGS).status_code == 200  # under the limit


def test_upload_is_503_with_retry_after_when_the_store_is_unavailable(app, client, monkeypatch):
    monkeypatch.setattr("ingest.catalog.RETRY_BACKOFF_S", 0.0)
    app.extensions["animerec"].__dict__["store"] = store = _memory_store(FailingStore)
    response = _upload(client, RATINGS)
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert "unavailable" in body["error"] and "NoHostAvailable" in body["reason"]
    [run] = store.load_runs("ratings")
    assert run["status"] == "failed" and run["completed_at"] is None     # not taken for a complete load
