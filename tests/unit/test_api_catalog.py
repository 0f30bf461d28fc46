"""GET /anime and GET /user without services: the in-memory filter on a hand-made catalog, and validation."""
from __future__ import annotations

import socket

import numpy as np
import pytest

from api.app import create_app
from api.query import AnimeFilter, CatalogIndex, filter_user_ratings
from config import Settings
from ranking.catalog import Catalog
from store import MemoryStore

ROWS = [
    # anime_id, name, genres, type, episodes, rating, members
    {"anime_id": 1, "name": "Cowboy Bebop", "genres": ["Action", "Drama", "Sci-Fi"], "type": "TV",
     "episodes": 26, "rating": 8.82, "members": 486824},
    {"anime_id": 5, "name": "Cowboy Bebop: Tengoku no Tobira", "genres": ["Action", "Drama"], "type": "Movie",
     "episodes": 1, "rating": 8.39, "members": 137636},
    {"anime_id": 20, "name": "Naruto", "genres": ["Action", "Comedy", "Shounen"], "type": "TV",
     "episodes": 220, "rating": 7.81, "members": 683297},
    {"anime_id": 30, "name": "Long Drama", "genres": ["Drama"], "type": "TV",
     "episodes": 250, "rating": 7.5, "members": 5000},
    {"anime_id": 31, "name": "Long Drama Unpopular", "genres": ["Drama"], "type": "TV",
     "episodes": 250, "rating": 7.5, "members": 1000},
    {"anime_id": 32, "name": "Long Drama Edge", "genres": ["Drama", "Romance"], "type": "TV",
     "episodes": 300, "rating": 7.9, "members": 9000},
    {"anime_id": 33, "name": "long drama low", "genres": ["Drama"], "type": "TV",
     "episodes": 201, "rating": 7.0, "members": 2000},
    {"anime_id": 40, "name": "Unknown Episodes", "genres": ["Drama"], "type": None,
     "episodes": None, "rating": None, "members": 10},
    {"anime_id": 41, "name": "No Genre", "genres": None, "type": "OVA", "episodes": 2, "rating": 5.2,
     "members": 300},
    # A Cassandra float32 comes back slightly below its decimal value.
    {"anime_id": 50, "name": "Float Rating", "genres": ["Comedy"], "type": "Special", "episodes": 1,
     "rating": float(np.float32(7.1)), "members": 50},
]
EXAMPLE = "/anime?mt_episodes=200&lt_episodes=300&mt_rating=7&mt_members=1000&genre=Drama"


@pytest.fixture(scope="module")
def catalog():
    return Catalog.from_rows(ROWS)


@pytest.fixture(scope="module")
def index(catalog):
    return CatalogIndex(catalog)


def ids(page) -> list[int]:
    return [item["anime_id"] for item in page.items]


# --- the in-memory filter ---------------------------------------------------------------------

def test_the_example_filter_is_strict_on_every_bound(index):
    page = index.query(AnimeFilter(mt_episodes=200, lt_episodes=300, mt_rating=7, mt_members=1000,
                                   genres=("Drama",)), sort="anime_id")
    # 31: members 1000 is not more than 1000; 32: 300 episodes is not less than 300; 33: rating 7.0
    assert ids(page) == [30]
    assert page.total == 1


def test_all_genres_must_match_case_insensitively(index):
    assert ids(index.query(AnimeFilter(genres=("drama", "ACTION")), sort="anime_id")) == [1, 5]
    assert ids(index.query(AnimeFilter(genres=("Drama", "Romance")))) == [32]


def test_type_and_name_filters(index):
    assert ids(index.query(AnimeFilter(type="movie"))) == [5]
    assert ids(index.query(AnimeFilter(q="BEBOP"), sort="anime_id")) == [1, 5]
    assert ids(index.query(AnimeFilter(q="drama", type="TV"), sort="name")) == [30, 32, 33, 31]


def test_unknown_values_never_match_a_bound(index):
    assert 40 not in ids(index.query(AnimeFilter(lt_episodes=10**6), limit=100))
    assert 40 not in ids(index.query(AnimeFilter(mt_rating=-1), limit=100))
    assert 40 in ids(index.query(AnimeFilter(), limit=100))


def test_float32_ratings_compare_as_their_decimal_value(index):
    assert 50 not in ids(index.query(AnimeFilter(lt_rating=7.1), limit=100))
    assert 50 in ids(index.query(AnimeFilter(mt_rating=7.09, lt_rating=7.11), limit=100))
    assert index.item(50)["rating"] == 7.1


def test_sorts_put_unknown_values_last_and_break_ties_by_id(index):
    by_rating = ids(index.query(AnimeFilter(), sort="-rating", limit=100))
    assert by_rating[:2] == [1, 5] and by_rating[-1] == 40
    assert ids(index.query(AnimeFilter(), sort="rating", limit=100))[-1] == 40
    assert ids(index.query(AnimeFilter(genres=("Drama",)), sort="rating", limit=100)) == [33, 30, 31, 32, 5, 1, 40]
    episodes = ids(index.query(AnimeFilter(), sort="-episodes", limit=100))
    assert episodes[:3] == [32, 30, 31] and episodes[-1] == 40
    assert ids(index.query(AnimeFilter(), sort="-members", limit=3)) == [20, 1, 5]
    names = [i["name"].casefold() for i in index.query(AnimeFilter(), sort="name", limit=100).items]
    assert names == sorted(names)


def test_pages(index):
    first = index.query(AnimeFilter(), sort="anime_id", page=1, limit=4)
    second = index.query(AnimeFilter(), sort="anime_id", page=2, limit=4)
    last = index.query(AnimeFilter(), sort="anime_id", page=3, limit=4)
    assert first.total == len(ROWS) and first.pages == 3
    assert ids(first) + ids(second) + ids(last) == sorted(r["anime_id"] for r in ROWS)
    assert index.query(AnimeFilter(), page=9, limit=4).items == []


def test_items_are_plain_json_values(index):
    item = index.item(1)
    assert item == {"anime_id": 1, "name": "Cowboy Bebop", "genres": ["Action", "Drama", "Sci-Fi"], "type": "TV",
                    "episodes": 26, "rating": 8.82, "members": 486824}
    assert index.item(40)["episodes"] is None and index.item(40)["type"] is None
    assert index.item(41)["genres"] == []
    assert index.item(12345) is None


def test_user_rating_bounds_are_strict_and_drop_unscored():
    rows = [{"anime_id": a, "rating": r} for a, r in [(1, 5), (2, 6), (3, 7), (4, -1), (5, 10), (6, 6)]]
    assert [r["anime_id"] for r in filter_user_ratings(rows, 5, 7)] == [2, 6]
    assert [r["anime_id"] for r in filter_user_ratings(rows, None, 6)] == [1]
    assert [r["anime_id"] for r in filter_user_ratings(rows, -5, None)] == [5, 3, 2, 6, 1]
    assert [r["anime_id"] for r in filter_user_ratings(rows, None, None)] == [5, 3, 2, 6, 1, 4]


# --- the routes (catalog injected; Cassandra and Kafka unreachable) ---------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_store():
    """The in-memory store backend with the rows these routes read."""
    store = MemoryStore()
    store.upsert_anime(ROWS)
    store.upsert_ratings([(567, 1, 9), (567, 20, 6), (567, 5, -1), (567, 999, 5)])
    store.set_rating_stats([{"anime_id": 1, "ratings": 3, "scored": 2, "mean_score": 7.5}])
    return store


@pytest.fixture
def client(catalog):
    settings = Settings(kafka={"bootstrap_servers": f"127.0.0.1:{_closed_port()}", "request_timeout_ms": 1500},
                        cassandra={"port": _closed_port()})
    app = create_app(settings, memory_store())
    app.extensions["animerec"].use_catalog(catalog)
    return app.test_client()


def test_example_query_over_http(client):
    body = client.get(EXAMPLE).get_json()
    assert body["total"] == 1 and [i["anime_id"] for i in body["items"]] == [30]
    assert body["page"] == 1 and body["limit"] == 20 and body["next"] is None
    assert "about" not in body


def test_no_parameters_describe_the_filters_with_the_first_page(client):
    body = client.get("/anime").get_json()
    about = body["about"]
    for name in ("mt_episodes", "lt_episodes", "mt_rating", "lt_rating", "mt_members", "lt_members", "genre",
                 "type", "q", "sort", "page", "limit"):
        assert about["parameters"][name]
    assert any("mt_episodes=200" in e for e in about["examples"])
    assert "Drama" in about["genres"] and "TV" in about["types"]
    assert body["total"] == len(ROWS) and len(body["items"]) == len(ROWS)


def test_next_link_keeps_every_parameter(client):
    body = client.get("/anime?genre=Drama&genre=TV&limit=2".replace("genre=TV", "genre=drama")).get_json()
    assert body["total"] == 7 and body["pages"] == 4
    assert body["next"] == "/anime?genre=Drama&genre=drama&limit=2&page=2"
    following = client.get(body["next"]).get_json()
    assert following["page"] == 2 and following["prev"] == "/anime?genre=Drama&genre=drama&limit=2&page=1"
    assert {i["anime_id"] for i in body["items"]}.isdisjoint(i["anime_id"] for i in following["items"])


@pytest.mark.parametrize("query,field", [
    ("mt_episodes=many", "mt_episodes"), ("lt_rating=abc", "lt_rating"), ("mt_rating=nan", "mt_rating"),
    ("mt_rating=11", "mt_rating"), ("mt_members=1.5", "mt_members"), ("limit=0", "limit"), ("limit=101", "limit"),
    ("page=0", "page"), ("sort=popularity", "sort"), ("bogus=1", "bogus"), ("q=", "q"),
    ("type=TV&type=Movie", "type"), ("genre=Drama&mt_rating=1&mt_rating=2", "mt_rating"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, query, field):
    response = client.get(f"/anime?{query}")
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert field in body["error"]
    assert any(d["field"] == field for d in body["details"])


@pytest.mark.parametrize("query,field,valid", [("genre=Drama&genre=Dramma", "genre", "Sci-Fi"),
                                               ("type=Series", "type", "Movie")])
def test_unknown_genre_or_type_lists_the_valid_values(client, query, field, valid):
    response = client.get(f"/anime?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["details"][0]["field"] == field
    assert valid in body["valid_values"]


def test_anime_details_with_and_without_rating_stats(client):
    body = client.get("/anime/1").get_json()
    assert (body["rating_count"], body["scored_count"], body["mean_user_score"]) == (3, 2, 7.5)
    assert body["rating"] == 8.82
    pending = client.get("/anime/5").get_json()
    assert pending["rating_count"] is None and pending["mean_user_score"] is None
    assert pending["rating_stats"] == "pending"
    assert client.get("/anime/777").status_code == 404


def test_user_ratings_in_range_with_names(client):
    body = client.get("/user?user_id=567&mt_rating=5&lt_rating=10").get_json()
    assert body["ratings"] == 4 and body["total"] == 2
    assert [(i["anime_id"], i["name"], i["rating"]) for i in body["items"]] == [(1, "Cowboy Bebop", 9),
                                                                                (20, "Naruto", 6)]
    everything = client.get("/user?user_id=567").get_json()
    assert [i["rating"] for i in everything["items"]] == [9, 6, 5, -1]
    assert everything["items"][2]["name"] is None  # a rated title missing from the catalog


def test_user_route_describes_itself_and_validates(client):
    about = client.get("/user").get_json()["about"]
    assert set(about["parameters"]) >= {"user_id", "mt_rating", "lt_rating"}
    missing = client.get("/user?mt_rating=5")
    assert missing.status_code == 400 and missing.get_json()["details"][0]["field"] == "user_id"
    for query, field in (("user_id=abc", "user_id"), ("user_id=0", "user_id"), ("user_id=5&lt_rating=x", "lt_rating"),
                         ("user_id=5&x=1", "x")):
        response = client.get(f"/user?{query}")
        assert response.status_code == 400 and field in response.get_json()["error"]
    unknown = client.get("/user?user_id=123")
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "user 123 not found"


def test_openapi_describes_the_new_routes(client):
    spec = client.get("/openapi/openapi.json").get_json()
    paths = spec["paths"]
    for route, method in (("/anime", "get"), ("/anime/{anime_id}", "get"), ("/user", "get"), ("/ratings", "post"),
                          ("/ratings/{user_id}/{anime_id}", "delete"), ("/upload", "post"),
                          ("/recommend/{user_id}", "get")):
        assert method in paths[route], route
    params = {p["name"] for p in paths["/anime"]["get"]["parameters"]}
    assert {"mt_episodes", "lt_episodes", "mt_rating", "genre", "type", "q", "sort", "page", "limit"} <= params
    assert "multipart/form-data" in paths["/upload"]["post"]["requestBody"]["content"]
    assert client.get("/openapi/swagger").status_code == 200


def test_routes_without_query_parameters_refuse_unknown_ones(client):
    for method, path in (("get", "/anime/1?verbose=1"), ("post", "/ratings?verbose=1"),
                         ("delete", "/ratings/1/1?verbose=1"), ("post", "/upload?verbose=1")):
        response = getattr(client, method)(path)
        assert response.status_code == 400, path
        assert "verbose" in response.get_json()["error"]
