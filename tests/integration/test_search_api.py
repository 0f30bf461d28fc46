"""GET /search on the real stack (the catalog and synopses loaded into Cassandra): the labelled queries'
hit@5, the examples the search must get right, and odd input answered without a 5xx."""
from __future__ import annotations

import json
from pathlib import Path

import requests

QUERIES = json.loads((Path(__file__).resolve().parents[1] / "data" / "search_queries.json").read_text())["queries"]


def _ids(api_url: str, q: str, k: int = 5) -> list[int]:
    answer = requests.get(f"{api_url}/search", params={"q": q, "k": k}, timeout=30)
    assert answer.status_code == 200, answer.text
    return [item["anime_id"] for item in answer.json()["items"]]


def test_the_examples_and_the_labelled_queries(api_url):
    assert set(_ids(api_url, "Fullmetal", 2)) == {121, 5114}
    assert 1535 in _ids(api_url, "a student finds a notebook that kills anyone whose name is written in it", 3)
    hits = {}
    for kind in ("name", "description"):
        queries = [q for q in QUERIES if q["kind"] == kind]
        hits[kind] = (sum(bool(set(_ids(api_url, q["q"])) & set(q["expect"])) for q in queries), len(queries))
    print(f"\nkeyword search hit@5 on tests/data/search_queries.json: {hits}")
    assert hits["name"] == (15, 15) and hits["description"][0] >= 20


def test_odd_queries_get_a_400_or_an_answer_never_a_5xx(api_url):
    for q in ("", "x" * 10_000, "進撃の巨人", "\x00\x01\x1f", "' OR 1=1 --", "%", "\u202e\u200b"):
        answer = requests.get(f"{api_url}/search", params={"q": q}, timeout=30)
        assert answer.status_code in (200, 400), (q[:20], answer.status_code)
        assert answer.headers["Content-Type"].startswith("application/json")
