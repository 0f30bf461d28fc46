"""GET /search on the real stack (the catalog and synopses loaded into Cassandra, the title embeddings written
there by the embeddings batch job): each mode's hit@5 on the labelled queries, the examples the search must get
right, and odd input answered without a 5xx."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

QUERIES = json.loads((Path(__file__).resolve().parents[1] / "data" / "search_queries.json").read_text())["queries"]
NOTEBOOK = "a student finds a notebook that kills anyone whose name is written in it"


def _search(api_url: str, q: str, k: int = 5, mode: str = "hybrid") -> dict:
    answer = requests.get(f"{api_url}/search", params={"q": q, "k": k, "mode": mode}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ids(api_url: str, q: str, k: int = 5, mode: str = "hybrid") -> list[int]:
    return [item["anime_id"] for item in _search(api_url, q, k, mode)["items"]]


def _hit_at_5(api_url: str, mode: str) -> dict[str, tuple[int, int]]:
    hits = {}
    for kind in ("name", "description"):
        queries = [q for q in QUERIES if q["kind"] == kind]
        hits[kind] = (sum(bool(set(_ids(api_url, q["q"], mode=mode)) & set(q["expect"])) for q in queries),
                      len(queries))
    print(f"\n{mode} search hit@5 on tests/data/search_queries.json: {hits}")
    return hits


@pytest.mark.parametrize("mode", ["hybrid", "keyword"])
def test_the_examples(api_url, mode):
    body = _search(api_url, "Fullmetal", 2, mode)
    assert body.get("note") is None, body.get("note")        # hybrid had its semantic half
    assert {i["anime_id"] for i in body["items"]} == {121, 5114}
    assert 1535 in _ids(api_url, NOTEBOOK, 3, mode)


def test_each_mode_on_the_labelled_queries(api_url):
    keyword, semantic, hybrid = (_hit_at_5(api_url, m) for m in ("keyword", "semantic", "hybrid"))
    assert keyword["name"] == (15, 15) and keyword["description"][0] >= 20
    assert semantic["description"][0] >= 12          # meaning alone: docs/RESULTS.md has the measured 15/23
    assert hybrid["name"] == (15, 15) and hybrid["description"][0] >= keyword["description"][0]


def test_semantic_hits_say_they_matched_by_meaning_and_hybrid_ones_say_which(api_url):
    semantic = _search(api_url, NOTEBOOK, 5, "semantic")["items"]
    assert semantic and all(i["matched"] == ["meaning"] for i in semantic)
    hybrid = _search(api_url, NOTEBOOK, 5)["items"]
    death_note = next(i for i in hybrid if i["anime_id"] == 1535)
    assert "synopsis" in death_note["matched"] and "meaning" in death_note["matched"]


def test_odd_queries_get_a_400_or_an_answer_never_a_5xx(api_url):
    for mode in ("keyword", "semantic", "hybrid"):
        for q in ("", "x" * 10_000, "進撃の巨人", "\x00\x01\x1f", "' OR 1=1 --", "%", "\u202e\u200b"):
            answer = requests.get(f"{api_url}/search", params={"q": q, "mode": mode}, timeout=60)
            assert answer.status_code in (200, 400), (mode, q[:20], answer.status_code)
            assert answer.headers["Content-Type"].startswith("application/json")
