"""The catalog, user, ratings and upload routes over HTTP on the real data (gunicorn, Kafka, Flink, Cassandra)."""
from __future__ import annotations

import http.client
import io
import uuid
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import wait_for

EXAMPLE = "/anime?mt_episodes=200&lt_episodes=300&mt_rating=7&mt_members=1000&genre=Drama"
RATER = 991_001      # test users: far above the real ids
UPLOADER = 991_002
DELETER = 991_003


@pytest.fixture(scope="module")
def catalog_rows(api_url, store):
    """The catalog as stored, to check the API's in-memory answers against (computed independently)."""
    return store.all_anime()


def _matches(row, mt_episodes=None, lt_episodes=None, mt_rating=None, lt_rating=None, mt_members=None,
             genres=(), type_=None) -> bool:
    def above(value, bound):
        return bound is None or (value is not None and value > bound)

    def below(value, bound):
        return bound is None or (value is not None and value < bound)
    rating = None if row["rating"] is None else round(row["rating"], 2)
    return (above(row["episodes"], mt_episodes) and below(row["episodes"], lt_episodes)
            and above(rating, mt_rating) and below(rating, lt_rating) and above(row["members"], mt_members)
            and all(g in (row["genres"] or []) for g in genres) and (type_ is None or row["type"] == type_))


def _all_pages(http, api_url, first: str) -> tuple[dict, list[dict]]:
    body = http.get(api_url + first, timeout=30).json()
    items, following = list(body["items"]), body["next"]
    while following:
        page = http.get(api_url + following, timeout=30).json()
        items += page["items"]
        following = page["next"]
    return body, items


# --- GET /anime ---------------------------------------------------------------------------------

def test_the_example_filter_matches_the_catalog(api_url, http, catalog_rows):
    response = http.get(api_url + EXAMPLE, timeout=30)
    assert response.status_code == 200
    body = response.json()
    expected = sorted((r for r in catalog_rows if _matches(r, mt_episodes=200, lt_episodes=300, mt_rating=7,
                                                             mt_members=1000, genres=("Drama",))),
                      key=lambda r: (-r["members"], r["anime_id"]))
    assert body["total"] == len(expected)
    assert [i["anime_id"] for i in body["items"]] == [r["anime_id"] for r in expected][:20]
    for item in body["items"]:
        assert 200 < item["episodes"] < 300 and item["rating"] > 7 and item["members"] > 1000
        assert "Drama" in item["genres"]


def test_a_wider_filter_pages_through_every_match(api_url, http, catalog_rows):
    query = "/anime?mt_episodes=24&lt_episodes=60&mt_rating=8&genre=drama&type=tv&sort=-rating&limit=7"
    body, items = _all_pages(http, api_url, query)
    expected = [r for r in catalog_rows if _matches(r, mt_episodes=24, lt_episodes=60, mt_rating=8,
                                                    genres=("Drama",), type_="TV")]
    assert body["total"] == len(expected) > 7
    assert sorted(i["anime_id"] for i in items) == sorted(r["anime_id"] for r in expected)
    ratings = [i["rating"] for i in items]
    assert ratings == sorted(ratings, reverse=True)


def test_no_parameters_describe_the_filters(api_url, http, catalog_rows):
    body = http.get(f"{api_url}/anime", timeout=30).json()
    assert set(body["about"]["parameters"]) >= {"mt_episodes", "lt_episodes", "mt_rating", "lt_rating",
                                               "mt_members", "lt_members", "genre", "type", "q", "sort"}
    assert EXAMPLE in body["about"]["examples"]
    assert "Drama" in body["about"]["genres"] and "TV" in body["about"]["types"]
    assert body["total"] == len(catalog_rows) and len(body["items"]) == 20 and body["next"] == "/anime?page=2"


def test_name_search(api_url, http):
    body = http.get(f"{api_url}/anime?q=fullmetal%20ALCHEMIST&sort=anime_id", timeout=30).json()
    assert 5114 in [i["anime_id"] for i in body["items"]]
    assert all("fullmetal alchemist" in i["name"].lower() for i in body["items"])


@pytest.mark.parametrize("query,field", [("genre=Dramma", "genre"), ("type=Series", "type"),
                                         ("mt_rating=high", "mt_rating"), ("limit=1000", "limit"),
                                         ("sort=best", "sort"), ("genres=Drama", "genres"),
                                         ("type=TV&type=Movie", "type")])
def test_bad_anime_queries_are_400_naming_the_parameter(api_url, http, query, field):
    response = http.get(f"{api_url}/anime?{query}", timeout=30)
    assert response.status_code == 400
    body = response.json()
    assert field in body["error"] and body["details"][0]["field"] == field
    if query in ("genre=Dramma", "type=Series"):
        assert "Drama" in body["valid_values"] or "TV" in body["valid_values"]


# --- GET /anime/<id> ----------------------------------------------------------------------------

def test_anime_details(api_url, http):
    body = http.get(f"{api_url}/anime/5114", timeout=30).json()
    assert body["name"] == "Fullmetal Alchemist: Brotherhood" and body["rating"] == 9.26
    assert body["synopsis"]
    assert "rating_count" in body and "mean_user_score" in body
    if body["rating_stats"] == "pending":
        assert body["rating_count"] is None and body["mean_user_score"] is None
    assert http.get(f"{api_url}/anime/2000000000", timeout=30).status_code == 404
    assert http.get(f"{api_url}/anime/abc", timeout=30).status_code == 400


# --- GET /user ----------------------------------------------------------------------------------

def test_user_ratings_in_a_range(api_url, http, store):
    user = next(u for u in range(1, 500) if any(5 < r["rating"] < 7 for r in store.user_ratings(u)))
    stored = store.user_ratings(user)
    body = http.get(f"{api_url}/user?user_id={user}&mt_rating=5&lt_rating=7", timeout=30).json()
    expected = sorted((r for r in stored if 5 < r["rating"] < 7), key=lambda r: (-r["rating"], r["anime_id"]))
    assert body["ratings"] == len(stored) and body["total"] == len(expected)
    assert [(i["anime_id"], i["rating"]) for i in body["items"]] == [(r["anime_id"], r["rating"]) for r in expected]
    assert all(i["name"] for i in body["items"])
    everything = http.get(f"{api_url}/user?user_id={user}&limit=1000", timeout=30).json()
    assert everything["total"] == len(stored)


def test_user_route_description_and_errors(api_url, http):
    assert "user_id" in http.get(f"{api_url}/user", timeout=30).json()["about"]["parameters"]
    unknown = http.get(f"{api_url}/user?user_id=2000000000", timeout=30)
    assert unknown.status_code == 404 and unknown.json()["error"] == "user 2000000000 not found"
    for query, field in (("user_id=abc", "user_id"), ("mt_rating=5", "user_id"), ("user_id=1&lt_rating=x", "lt_rating")):
        response = http.get(f"{api_url}/user?{query}", timeout=30)
        assert response.status_code == 400 and field in response.json()["error"]


# --- POST /ratings, DELETE /ratings/<user>/<anime> ----------------------------------------------

def _rating_of(store, user: int, anime: int):
    return next((r["rating"] for r in store.user_ratings(user) if r["anime_id"] == anime), None)


def test_a_posted_rating_is_stored_by_the_streaming_job_and_a_delete_removes_it(api_url, http, store):
    posted = http.post(f"{api_url}/ratings", json={"user_id": RATER, "anime_id": 5114, "rating": 9}, timeout=30)
    assert posted.status_code == 202, posted.text
    assert posted.json()["kind"] == "rating" and posted.json()["topic"] == "ratings"
    wait_for(lambda: _rating_of(store, RATER, 5114) == 9)
    changed = http.post(f"{api_url}/ratings", json={"user_id": RATER, "anime_id": 5114, "rating": -1}, timeout=30)
    assert changed.status_code == 202
    wait_for(lambda: _rating_of(store, RATER, 5114) == -1)
    user = http.get(f"{api_url}/user?user_id={RATER}", timeout=30).json()
    assert [(i["anime_id"], i["rating"]) for i in user["items"]] == [(5114, -1)]

    deleted = http.delete(f"{api_url}/ratings/{RATER}/5114", timeout=30)
    assert deleted.status_code == 202 and deleted.json()["rating"] is None
    wait_for(lambda: _rating_of(store, RATER, 5114) is None and not store.user_ratings(RATER))
    assert http.get(f"{api_url}/user?user_id={RATER}", timeout=30).status_code == 404


def test_a_delete_right_after_a_post_wins(api_url, http, store):
    assert http.post(f"{api_url}/ratings", json={"user_id": DELETER, "anime_id": 1, "rating": 4},
                     timeout=30).status_code == 202
    assert http.post(f"{api_url}/ratings", json={"user_id": DELETER, "anime_id": 5, "rating": 6},
                     timeout=30).status_code == 202
    assert http.delete(f"{api_url}/ratings/{DELETER}/1", timeout=30).status_code == 202
    wait_for(lambda: [(r["anime_id"], r["rating"]) for r in store.user_ratings(DELETER)] == [(5, 6)])
    http.delete(f"{api_url}/ratings/{DELETER}/5", timeout=30)
    wait_for(lambda: not store.user_ratings(DELETER))


def test_bad_ratings_are_refused_and_nothing_is_stored(api_url, http, store):
    user = RATER + 100
    for body, status, field in (({"user_id": user, "anime_id": 5114, "rating": 11}, 400, "rating"),
                                ({"user_id": user, "anime_id": 5114, "rating": 0}, 400, "rating"),
                                ({"user_id": user, "anime_id": 5114}, 400, "rating"),
                                ({"user_id": user, "anime_id": 5114, "rating": 5, "x": 1}, 400, "x"),
                                ({"user_id": user, "anime_id": 2000000000, "rating": 5}, 404, None)):
        response = http.post(f"{api_url}/ratings", json=body, timeout=30)
        assert response.status_code == status, body
        if field:
            assert field in response.json()["error"]
    assert http.delete(f"{api_url}/ratings/{user}/2000000000", timeout=30).status_code == 404
    assert http.delete(f"{api_url}/ratings/{user}/abc", timeout=30).status_code == 400
    # a valid rating sent afterwards is the only one that lands: nothing of the refused ones was queued
    assert http.post(f"{api_url}/ratings", json={"user_id": user, "anime_id": 1, "rating": 3},
                     timeout=30).status_code == 202
    wait_for(lambda: store.user_ratings(user))
    assert [(r["anime_id"], r["rating"]) for r in store.user_ratings(user)] == [(1, 3)]
    store.delete_rating(user, 1)


# --- POST /upload -------------------------------------------------------------------------------

def _upload(http, api_url, content: bytes, dataset: str, **data):
    return http.post(f"{api_url}/upload", data={"dataset": dataset, **data},
                     files={"file": ("upload.csv", io.BytesIO(content), "text/csv")}, timeout=120)


def test_upload_keeps_the_good_rows_and_reports_the_bad_ones(api_url, http, store):
    content = (f"user_id,anime_id,rating\n{UPLOADER},1,8\n{UPLOADER},abc,5\n{UPLOADER},5114,42\n"
               f"{UPLOADER},5114,10\n,,\n").encode()
    try:
        response = _upload(http, api_url, content, "ratings")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "complete"
        assert (body["rows_read"], body["rows_loaded"], body["rows_rejected"]) == (5, 2, 3)
        assert [(r["line"], r["code"]) for r in body["rejections"]] == [
            (3, "anime_id_not_integer"), (4, "rating_out_of_range"), (6, "user_id_missing")]
        assert sorted((r["anime_id"], r["rating"]) for r in store.user_ratings(UPLOADER)) == [(1, 8), (5114, 10)]
        run = next(r for r in store.load_runs("ratings", limit=5) if str(r["run_id"]) == body["run_id"])
        assert run["status"] == "complete" and run["file_name"] == "upload.csv"
    finally:
        for anime in (1, 5114):
            store.delete_rating(UPLOADER, anime)


def test_upload_dry_run_and_a_big_file_streamed(api_url, http, store):
    user = UPLOADER + 1
    rows = "".join(f"{user},{a},{a % 10 + 1}\n" for a in range(1, 60_001))  # ~1 MB: past werkzeug's memory spool
    body = _upload(http, api_url, ("user_id,anime_id,rating\n" + rows).encode(), "ratings", dry_run="true").json()
    assert body["status"] == "checked" and body["rows_read"] == 60_000 and body["rows_rejected"] == 0
    assert body["rows_loaded"] == 0 and not store.user_ratings(user)


@pytest.mark.parametrize("content,dataset", [(b"user_id,anime_id,rating\n1,1,1\n", "anime"), (b"", "synopsis"),
                                             (b"name;score\nx;1\n", "ratings")])
def test_upload_of_the_wrong_format_is_400(api_url, http, content, dataset):
    response = _upload(http, api_url, content, dataset)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "file"


def test_upload_form_errors_are_400(api_url, http):
    response = http.post(f"{api_url}/upload", data={"dataset": "users"},
                         files={"file": ("x.csv", io.BytesIO(b"a\n"), "text/csv")}, timeout=30)
    assert response.status_code == 400 and "dataset" in response.json()["error"]
    response = http.post(f"{api_url}/upload", data={"dataset": "ratings"}, timeout=30)
    assert response.status_code == 400 and "file" in response.json()["error"]


def test_too_large_upload_is_413_before_the_body_is_read(api_url, admin_key):
    parts = urlsplit(api_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", "/upload")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={uuid.uuid4().hex}")
        connection.putheader("Content-Length", str(300 * 1024 * 1024))
        connection.putheader("X-API-Key", admin_key)
        connection.endheaders()
        connection.send(b"--")  # nothing more is sent: the answer must come from the declared length
        response = connection.getresponse()
        assert response.status == 413
        assert b"too large" in response.read()
    finally:
        connection.close()


# --- /recommend alias and the description --------------------------------------------------------

def test_recommend_alias_defaults_to_five(api_url, http):
    body = http.get(f"{api_url}/recommend/{RATER + 50}", timeout=30).json()
    assert len(body["items"]) == 5
    assert len(http.get(f"{api_url}/recommend/{RATER + 50}?k=7", timeout=30).json()["items"]) == 7


def test_openapi_describes_every_route(api_url, http):
    paths = http.get(f"{api_url}/openapi/openapi.json", timeout=30).json()["paths"]
    for route in ("/anime", "/anime/{anime_id}", "/user", "/ratings", "/ratings/{user_id}/{anime_id}", "/upload",
                  "/recommend/{user_id}", "/recommends/{user_id}", "/clicks", "/health"):
        assert route in paths, route
    assert http.get(f"{api_url}/openapi/swagger", timeout=30).status_code == 200
