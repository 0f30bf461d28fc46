"""/talk: the rules that read a request (search/talk.py) and the route on the real app with a memory store."""
from __future__ import annotations

import pytest

from accounts import create_key
from search import KeywordIndex, Understood, understand
from tests.unit.test_api_ratings_upload import make_app

ROWS = [
    {"anime_id": 1535, "name": "Death Note", "genres": ["Mystery", "Thriller"], "type": "TV", "episodes": 37,
     "members": 1_000_000, "rating": 8.7},
    {"anime_id": 2994, "name": "Death Note: Rewrite", "genres": ["Mystery", "Thriller"], "type": "Special",
     "episodes": 2, "members": 90_000, "rating": 7.7},
    {"anime_id": 20583, "name": "Haikyuu!!", "genres": ["Comedy", "Sports", "School"], "type": "TV", "episodes": 25,
     "members": 600_000, "rating": 8.6},
    {"anime_id": 30, "name": "Neon Genesis Evangelion", "genres": ["Mecha", "Drama"], "type": "TV", "episodes": 26,
     "members": 700_000, "rating": 8.3},
    {"anime_id": 199, "name": "Sen to Chihiro no Kamikakushi", "genres": ["Adventure", "Drama"], "type": "Movie",
     "episodes": 1, "members": 460_000, "rating": 8.9},
]
GENRES = sorted({g for r in ROWS for g in r["genres"]})
EPISODES = {r["anime_id"]: r["episodes"] for r in ROWS}
INDEX = KeywordIndex.build(ROWS)


def _read(message: str, before: Understood | None = None) -> Understood:
    return understand(message, INDEX.names, INDEX.ids, INDEX.popularity, EPISODES, GENRES, before)


def test_a_named_title_and_shorter_than_it():
    got = _read("something like Death Note but shorter")
    assert (got.titles, got.max_episodes, got.genres, got.words) == ([1535], 36, [], "")


def test_genres_from_everyday_words():
    assert _read("a funny sports anime").genres == ["Comedy", "Sports"]
    assert _read("something scary with robots").genres == ["Mecha"]      # no Horror in this catalog


def test_tonight_means_a_movie_or_a_few_episodes():
    assert _read("what should I watch tonight").max_episodes == 3


def test_a_refused_genre_is_excluded_not_wanted():
    got = _read("no more mecha please")
    assert got.exclude_genres == ["Mecha"] and got.genres == []
    assert _read("a drama without mecha") == Understood(genres=["Drama"], exclude_genres=["Mecha"])


def test_the_next_turn_keeps_the_constraints_and_narrows_them():
    first = _read("a funny sports anime, nothing mecha")
    second = _read("shorter than that", first)
    assert second.genres == ["Comedy", "Sports"] and second.exclude_genres == ["Mecha"]
    assert second.max_episodes == 13
    third = _read("even shorter", second)
    assert third.max_episodes == 12


def test_a_type_and_a_misspelt_title():
    got = _read("a movie like sen to chihiro no kamikakusi")
    assert got.type == "Movie" and got.titles == [199]


def test_the_free_words_are_left_for_the_search():
    assert _read("a story about a notebook that kills").words == "story about notebook kills"


@pytest.fixture
def app():
    app = make_app(security={"jwt_secret": "unit-test-signing-key-" + "z" * 20})
    store = app.extensions["animerec"].store
    store.upsert_anime(ROWS)
    app.extensions["animerec"].refresh_catalog()
    store.publish_version("popular", 1, 0)
    store.write_popular(1, [{"segment": s, "rank": i + 1, "anime_id": a, "score": 1.0}
                            for s, ids in (("all", [1535, 20583, 30, 199, 2994]), ("genre:Sports", [20583]))
                            for i, a in enumerate(ids)])
    store.publish_version("similar:cowatch", 2, 0)
    store.write_similar(2, [{"anime_id": 1535, "signal": "cowatch", "rank": i + 1, "similar_id": a, "score": 0.9 - i / 10}
                            for i, a in enumerate([2994, 30, 20583])])
    return app


@pytest.mark.auth_on
def test_talk_answers_items_that_fit_and_says_how_it_understood(app):
    client = app.test_client()
    reader = {"X-API-Key": create_key(app.extensions["animerec"].store, "reader")[0]}
    answer = client.get("/talk/7/something like Death Note but shorter", headers=reader)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["understood"]["titles"][0]["name"] == "Death Note" and body["understood"]["max_episodes"] == 36
    assert [i["anime_id"] for i in body["items"]][:3] == [2994, 30, 20583]
    assert body["items"][0]["reason"] == "Like Death Note" and body["reply"].startswith("Here are")
    follow = client.get(f"/talk/7/no mecha?conversation_id={body['conversation_id']}", headers=reader).get_json()
    assert follow["understood"]["exclude_genres"] == ["Mecha"] and follow["understood"]["max_episodes"] == 36
    assert 30 not in [i["anime_id"] for i in follow["items"]]


@pytest.mark.auth_on
def test_a_viewer_talks_as_themselves_and_bad_messages_are_400s(app):
    client = app.test_client()
    signed = client.post("/auth/register", json={"username": "kim", "email": "kim@example.org",
                                                  "password": "correct horse battery"}).get_json()
    auth = {"Authorization": f"Bearer {signed['access_token']}"}
    answer = client.post("/talk", json={"message": "a funny sports anime"}, headers=auth)
    assert answer.status_code == 200 and [i["anime_id"] for i in answer.get_json()["items"]] == [20583]
    assert client.post("/talk", json={"message": "hi", "user_id": 7}, headers=auth).status_code == 403
    for body in ({"message": ""}, {"message": "x" * 10_000}, {"message": "hi", "conversation_id": "../etc"}):
        bad = client.post("/talk", json=body, headers=auth)
        assert bad.status_code == 400, body
    odd = client.post("/talk", json={"message": "\x00\x01 進撃の巨人 \u202e"}, headers=auth)
    assert odd.status_code == 200 and odd.get_json()["reply"]
