"""What the web app reads and posts, on the real app (memory store, fake producer): trending and genres,
impressions, a viewer's reasons and just-clicked row, removing a rating, the dashboard's data, and the built
app served at its pages."""
from __future__ import annotations

import time

import pytest

from accounts import create_key
from config.registry import DAY_MS
from tests.unit.test_api_ratings_upload import make_app

pytestmark = pytest.mark.auth_on
SECRET = "unit-test-signing-key-" + "y" * 20
NOW_MS = int(time.time() * 1000)


@pytest.fixture
def app(tmp_path):
    app = make_app(security={"jwt_secret": SECRET}, api={"web_dir": tmp_path / "dist"})
    store = app.extensions["animerec"].store
    store.publish_version("popular", 1, 0)
    store.publish_version("similar:cowatch", 2, 0)
    store.write_popular(1, [{"segment": s, "rank": 1, "anime_id": a, "score": 1.0}
                            for s, a in (("all", 5114), ("genre:Drama", 5114), ("genre:Action", 1))])
    store.write_similar(2, [{"anime_id": 1, "signal": "cowatch", "rank": 1, "similar_id": 5114, "score": 0.8},
                            {"anime_id": 5114, "signal": "cowatch", "rank": 1, "similar_id": 1, "score": 0.8}])
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def _events(app):
    return app.extensions["animerec"].producer.events


def _viewer(client, name="ann", genres=("Drama",)) -> tuple[dict, int]:
    answer = client.post("/auth/register", json={"username": name, "email": f"{name}@example.org",
                                                 "password": "correct horse battery", "favourite_genres": list(genres)})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    return {"Authorization": f"Bearer {body['access_token']}"}, body["profile"]["user_id"]


def test_trending_and_genres_are_public_and_an_unknown_genre_is_a_400(client):
    assert client.get("/genres").get_json() == {"genres": ["Action", "Drama"]}
    assert [t["name"] for t in client.get("/trending").get_json()["items"]] == ["Fullmetal Alchemist: Brotherhood"]
    assert [t["anime_id"] for t in client.get("/trending?genre=Action").get_json()["items"]] == [1]
    bad = client.get("/trending?genre=Cooking")
    assert bad.status_code == 400 and "genre" in bad.get_json()["error"]


def test_impressions_publish_one_event_per_title_for_the_viewer_only(app, client):
    auth, me = _viewer(client)
    answer = client.post("/impressions", json={"user_id": me, "anime_ids": [1, 5114], "surface": "for-you"},
                         headers=auth)
    assert answer.status_code == 202 and answer.get_json()["count"] == 2
    assert [(e.kind, e.user_id, e.anime_id, e.surface) for e in _events(app)] == [
        ("impression", me, 1, "for-you"), ("impression", me, 5114, "for-you")]
    assert b'"surface":"for-you"' in _events(app)[0].to_bytes()
    assert client.post("/impressions", json={"user_id": me + 1, "anime_ids": [1]}, headers=auth).status_code == 403
    assert client.post("/impressions", json={"user_id": me, "anime_ids": [1]}).status_code == 401
    for body in ({"user_id": me, "anime_ids": []}, {"user_id": me, "anime_ids": [0]},
                 {"user_id": me, "anime_ids": [1], "surface": "For You!"}):
        assert client.post("/impressions", json=body, headers=auth).status_code == 400, body
    assert len(_events(app)) == 2


def test_a_viewer_removes_their_own_rating(app, client):
    auth, me = _viewer(client)
    assert client.delete("/me/ratings/5114", headers=auth).status_code == 202
    [event] = _events(app)
    assert (event.kind, event.user_id, event.anime_id, event.rating) == ("rating", me, 5114, None)
    assert client.delete("/me/ratings/999", headers=auth).status_code == 404


def test_each_recommendation_says_why_and_the_just_clicked_row_follows_the_stream(app, client):
    auth, me = _viewer(client, genres=("Drama",))
    first = client.get("/me/recommends?k=5", headers=auth).get_json()
    assert first["just_clicked"] is None
    assert [(i["anime_id"], i["source"], i["reason"]) for i in first["items"]] == [
        (5114, "popular", "Popular in Drama right now")]
    store = app.extensions["animerec"].store       # what the streaming job writes for the user's click
    store.write_event({"event_id": "c-1", "kind": "click", "user_id": me, "anime_id": 1, "timestamp": NOW_MS})
    second = client.get("/me/recommends?k=5", headers=auth).get_json()
    assert second["just_clicked"]["anime"]["name"] == "Cowboy Bebop"
    assert [i["anime_id"] for i in second["just_clicked"]["items"]] == [5114]
    [item] = second["items"]
    assert (item["source"], item["reason"], item["because"]) == ("recent", "Because you clicked Cowboy Bebop", 1)


def _admin(app) -> dict:
    return {"X-API-Key": create_key(app.extensions["animerec"].store, "admin")[0]}


def test_the_dashboard_data_is_for_admins_only(app, client):
    auth, _ = _viewer(client)
    reader = {"X-API-Key": create_key(app.extensions["animerec"].store, "reader")[0]}
    for path in ("/admin/overview", "/admin/inspect/user/1", "/admin/inspect/anime/1", "/admin/trends/genres"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=reader).status_code == 403, path
        assert client.get(path, headers=auth).status_code == 403, path


def test_the_overview_sums_serving_by_route(app, client):
    """The instruments are the process's (other tests' requests count too): compared before and after."""
    admin = _admin(app)

    def anime_row() -> dict:
        overview = client.get("/admin/overview", headers=admin).get_json()
        return next((r for r in overview["serving"]["routes"] if r["route"] == "/anime/<anime_id>"),
                    {"requests": 0, "errors_4xx": 0, "errors_5xx": 0})
    before = anime_row()
    for _ in range(3):
        client.get("/anime/1")
    client.get("/anime/999")
    after = anime_row()
    assert [after[c] - before[c] for c in ("requests", "errors_4xx", "errors_5xx")] == [4, 1, 0]
    assert 0 < after["p50_ms"] <= after["p95_ms"] <= after["p99_ms"]
    overview = client.get("/admin/overview", headers=admin).get_json()
    assert overview["counts"]["titles"] == 2
    assert overview["batch"]["lists"]["popular"]["version"] == 1


def test_the_user_inspector_shows_sources_ranked_items_and_their_features(app, client):
    store = app.extensions["animerec"].store
    store.write_event({"event_id": "c-2", "kind": "view", "user_id": 7, "anime_id": 1, "timestamp": NOW_MS})
    seen = client.get("/admin/inspect/user/7", headers=_admin(app)).get_json()
    assert seen["history"][0]["anime_id"] == 1 and seen["history"][0]["kind"] == "view"
    assert [i["anime_id"] for i in seen["sources"]["recent"]] == [5114]
    [ranked] = seen["ranked"]
    assert ranked["reason"] == "Because you watched Cowboy Bebop"
    assert set(ranked["features"]) <= set(seen["feature_names"]) and ranked["features"]


def test_the_item_inspector_draws_each_signal_as_links(app, client):
    seen = client.get("/admin/inspect/anime/1", headers=_admin(app)).get_json()
    assert seen["signals"] == {"cowatch": [{"anime_id": 5114, "name": "Fullmetal Alchemist: Brotherhood",
                                            "score": 0.8}]}
    assert [(n["id"], n["center"]) for n in seen["nodes"]] == [(1, True), (5114, False)]
    assert seen["links"] == [{"source": 1, "target": 5114, "signal": "cowatch", "score": 0.8}]
    assert client.get("/admin/inspect/anime/999", headers=_admin(app)).status_code == 404


def test_genre_trends_are_per_day_most_active_first(app, client):
    store = app.extensions["animerec"].store
    today = NOW_MS // DAY_MS
    store.write_genre_activity(today, "Drama", {"clicks": 5, "views": 1})
    store.write_genre_activity(today - 1, "Action", {"ratings": 2})
    store.write_genre_activity(today - 40, "Action", {"clicks": 100})       # outside the 3 days asked
    trends = client.get("/admin/trends/genres?days=3", headers=_admin(app)).get_json()
    assert len(trends["days"]) == 3
    assert trends["series"] == {"Drama": [0, 0, 6], "Action": [0, 2, 0]}


def test_the_built_app_is_served_at_its_pages_and_a_missing_build_says_how_to_build_it(app, client, tmp_path):
    assert client.get("/").status_code == 404 and "make web" in client.get("/").get_json()["error"]
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("<div id=app></div>")
    (tmp_path / "dist" / "assets" / "app-1a2b.js").write_text("console.log(1)")
    for page in ("/", "/for-you", "/browse", "/title/5114", "/history", "/dashboard", "/signin", "/signup"):
        answer = client.get(page)
        assert answer.status_code == 200 and b"id=app" in answer.data, page
    asset = client.get("/assets/app-1a2b.js")
    assert asset.status_code == 200 and "max-age=31536000" in asset.headers["Cache-Control"]
    assert client.get("/anime/5114").get_json()["name"] == "Fullmetal Alchemist: Brotherhood"   # still the API
