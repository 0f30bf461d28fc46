"""/talk on the real stack: a request in plain words understood, answered with titles that fit it, and a
second turn that keeps the first one's constraints; both routes in the OpenAPI document."""
from __future__ import annotations

from urllib.parse import quote

import requests


def _genres(api_url: str, anime_id: int) -> set[str]:
    return set(requests.get(f"{api_url}/anime/{anime_id}", timeout=10).json()["genres"])


def test_a_request_and_a_follow_up(api_url, http):
    first = http.get(f"{api_url}/talk/1/{quote('something like Death Note but shorter')}", timeout=60).json()
    assert [t["anime_id"] for t in first["understood"]["titles"]] == [1535]
    assert first["understood"]["max_episodes"] == 36 and first["items"]
    assert all(i["episodes"] is not None and i["episodes"] <= 36 and i["anime_id"] != 1535 for i in first["items"])
    follow = http.get(f"{api_url}/talk/1/{quote('no mecha please')}",
                      params={"conversation_id": first["conversation_id"]}, timeout=60).json()
    assert follow["understood"]["exclude_genres"] == ["Mecha"] and follow["understood"]["max_episodes"] == 36
    assert follow["items"] and all("Mecha" not in _genres(api_url, i["anime_id"]) for i in follow["items"])
    print(f"\n/talk: {first['reply']} -> then: {follow['reply']}")


def test_genres_from_everyday_words(api_url, http):
    answer = http.post(f"{api_url}/talk", json={"user_id": 1, "message": "a funny sports anime", "k": 5},
                       timeout=60).json()
    assert answer["understood"]["genres"] == ["Comedy", "Sports"] and len(answer["items"]) == 5
    assert all({"Comedy", "Sports"} <= _genres(api_url, i["anime_id"]) for i in answer["items"])


def test_search_and_talk_are_in_the_openapi_document(api_url):
    paths = requests.get(f"{api_url}/openapi/openapi.json", timeout=10).json()["paths"]
    assert {"/search", "/talk", "/talk/{user_id}/{message}"} <= set(paths)
