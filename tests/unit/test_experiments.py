"""Experiments: the spec's rules, sticky and uniform assignment, the statistics of the results, and the API
(admin routes; /recommends served through a variant and published as a served list)."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from api.instruments import SERVED_LISTS
from config.registry import SERVED_LISTS as SERVED_TOPIC
from experiments import ExperimentSpec, Variant, bucket_of, summarise, variant_for
from experiments.stats import two_proportions, wilson
from tests.unit.test_api_ratings_upload import make_app

HALF = [Variant(name="full", share=0.5), Variant(name="popular", share=0.5, ranker=False, sources=["popular"])]


def _spec(**changes) -> dict:
    spec = {"name": "full pipeline vs popularity", "variants": [v.model_dump(exclude_none=True) for v in HALF]}
    return {**spec, **changes}


@pytest.mark.parametrize("change,named", [
    ({"variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.4}]}, "add up to 1"),
    ({"variants": [{"name": "a", "share": 0.5}, {"name": "a", "share": 0.5}]}, "must differ"),
    ({"variants": [{"name": "a", "share": 1.0}]}, "variants"),
    ({"variants": [{"name": "a", "share": 0.5, "sources": ["psychic"]}, {"name": "b", "share": 0.5}]}, "psychic"),
    ({"variants": [{"name": "a", "share": 0.5, "colour": "red"}, {"name": "b", "share": 0.5}]}, "colour"),
    ({"surface": "trending"}, "surface"),
    ({"variants": [{"name": "a", "share": 0.5, "model": "svd"}, {"name": "b", "share": 0.5}]}, "model"),
    ({"variants": [{"name": "a", "share": 0.5, "sources": ["nmf"]}, {"name": "b", "share": 0.5}]}, "nmf"),
    ({"variants": [{"name": "a", "share": 0.5, "model": "ease", "sources": ["als"]}, {"name": "b", "share": 0.5}]},
     "takes no sources"),
])
def test_a_bad_spec_is_refused_naming_what_is_wrong(change, named):
    with pytest.raises(ValidationError, match=named):
        ExperimentSpec.model_validate(_spec(**change))


def test_assignment_is_sticky_uniform_and_independent_between_experiments():
    variants = [Variant(name="a", share=0.2), Variant(name="b", share=0.8)]
    users = range(1, 20_001)
    first = [variant_for("exp-1", variants, u).name for u in users]
    assert first == [variant_for("exp-1", variants, u).name for u in users]          # sticky
    share_a = first.count("a") / len(first)
    assert abs(share_a - 0.2) < 3 * (0.2 * 0.8 / len(first)) ** 0.5                  # uniform within 3 sigma
    other = [variant_for("exp-2", HALF, u).name for u in users]
    together = sum(1 for x, y in zip(first, other) if x == "a" and y == "full") / len(first)
    assert abs(together - 0.2 * 0.5) < 0.01                                          # independent
    assert 0.0 <= bucket_of("exp-1", 7) < 1.0 and bucket_of("exp-1", 7) != bucket_of("exp-2", 7)


def test_wilson_interval_and_two_proportion_test_match_textbook_values():
    low, high = wilson(50, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    assert wilson(0, 0) == (0.0, 1.0)
    test = two_proportions(100, 1000, 130, 1000)       # 10 % vs 13 %
    # pooled p = 0.115: z = 0.03 / sqrt(0.115 * 0.885 * 2 / 1000) = 2.103
    assert round(test["z"], 3) == 2.103 and round(test["p_value"], 4) == 0.0355
    assert test["ci95"][0] > 0


def _rows(control: tuple[int, int], treatment: tuple[int, int]) -> list[dict]:
    rows = []
    for name, (lists, clicked) in (("full", control), ("popular", treatment)):
        rows.append({"variant": name, "bucket": 480_000, "impressions": lists, "items_shown": lists * 10,
                     "clicks": clicked, "lists_clicked": clicked, "clicks_at_5": clicked, "clicks_at_10": clicked,
                     "rr_sum": clicked * 0.25 + 0.125, "views": 0, "ratings": 0})
        rows.append({"variant": name, "bucket": -1, "titles_shown": 120})
    return rows


def test_results_name_the_better_variant_only_when_significant_and_the_ratio_is_sound():
    better = summarise(HALF, _rows((1000, 200), (1000, 100)), catalog_size=1200)
    full, popular = better["variants"]
    assert (full["ctr"], popular["ctr"], full["coverage"], full["mrr_of_clicks"]) == (0.2, 0.1, 0.1, 50.125 / 200)
    assert popular["vs_control"]["significant"] and popular["vs_control"]["difference"] == pytest.approx(-0.1)
    assert better["significantly_better"] == "full" and not better["sample_ratio"]["mismatch"]
    close = summarise(HALF, _rows((1000, 200), (1000, 205)), catalog_size=1200)
    assert close["significantly_better"] is None
    skewed = summarise(HALF, _rows((1000, 200), (700, 100)), catalog_size=1200)
    assert skewed["sample_ratio"]["mismatch"] and skewed["significantly_better"] is None


@pytest.fixture
def app():
    app = make_app()
    store = app.extensions["animerec"].store
    store.publish_version("popular", 1, 0)
    store.write_popular(1, [{"segment": "all", "rank": i + 1, "anime_id": a, "score": 1.0}
                            for i, a in enumerate(r["anime_id"] for r in store.all_anime())])
    return app


def _served(app) -> list[dict]:
    return [json.loads(v) for t, _, v in app.extensions["animerec"].producer.offered if t == SERVED_TOPIC.name]


def test_without_an_experiment_a_list_is_served_by_default_and_published(app):
    client = app.test_client()
    body = client.get("/recommends/42?k=3").get_json()
    assert body["experiment"] == {"id": "default", "variant": "default"} and len(body["request_id"]) == 32
    [served] = _served(app)
    assert served["request_id"] == body["request_id"] and served["user_id"] == 42
    assert served["items"] == [{"anime_id": i["anime_id"], "position": p + 1} for p, i in enumerate(body["items"])]
    assert served["surface"] == "recommends" and served["experiment_id"] == "default"


def test_an_experiment_serves_each_user_through_their_variant_until_stopped(app):
    client = app.test_client()
    made = client.post("/experiments", json=_spec())
    assert made.status_code == 201
    experiment_id = made.get_json()["experiment_id"]
    again = client.post("/experiments", json=_spec(name="another"))
    assert again.status_code == 409 and experiment_id in again.get_json()["error"]
    for user in range(1, 41):
        body = client.get(f"/recommends/{user}?k=3").get_json()
        expected = variant_for(experiment_id, HALF, user).name
        assert body["experiment"] == {"id": experiment_id, "variant": expected}
        if expected == "popular":
            assert body["model_version"] is None and {i["source"] for i in body["items"]} == {"popular"}
    assert {s["variant"] for s in _served(app)} == {"full", "popular"}
    assert [e["experiment_id"] for e in client.get("/experiments").get_json()["experiments"]] == [experiment_id]
    stopped = client.post(f"/experiments/{experiment_id}/stop")
    assert stopped.status_code == 200 and stopped.get_json()["state"] == "stopped"
    assert client.get("/recommends/1").get_json()["experiment"]["id"] == "default"
    assert client.post("/experiments/nope/stop").status_code == 404


@pytest.mark.parametrize("model", ["ease", "nmf"])
def test_a_variant_can_serve_one_model_alone_in_its_own_order(app, model):
    store = app.extensions["animerec"].store
    catalog = [r["anime_id"] for r in store.all_anime()]
    store.publish_version(f"candidates:{model}", 3, 0)
    lists = {user: catalog[::-1] for user in range(1, 31)}     # the reverse of the popular list's order
    assert len(catalog) >= 2
    for user, ids in lists.items():
        store.write_candidates(3, [{"user_id": user, "source": model, "rank": i + 1, "anime_id": a,
                                    "score": 10.0 - i} for i, a in enumerate(ids)])
    client = app.test_client()
    if model == "nmf":    # outside the merge: the default pipeline never shows it
        assert all(i["source"] != "nmf" for u in lists for i in client.get(f"/recommends/{u}").get_json()["items"])
    variants = [{"name": model, "share": 0.5, "model": model}, {"name": "popular", "share": 0.5, "model": "popular"}]
    experiment_id = client.post("/experiments", json=_spec(variants=variants)).get_json()["experiment_id"]
    served = set()
    for user, ids in lists.items():
        body = client.get(f"/recommends/{user}?k={len(ids)}").get_json()
        served.add(body["experiment"]["variant"])
        sources = {i["source"] for i in body["items"]}
        assert body["model_version"] is None, body
        if body["experiment"]["variant"] == model:
            assert [i["anime_id"] for i in body["items"]] == ids and sources == {model}
        else:
            assert sources == {"popular"}
    assert served == {model, "popular"} and experiment_id


def test_results_come_from_the_streamed_counts(app):
    client = app.test_client()
    experiment_id = client.post("/experiments", json=_spec()).get_json()["experiment_id"]
    store = app.extensions["animerec"].store
    for row in _rows((1000, 200), (1000, 100)):
        store.write_experiment_metrics(experiment_id, row["variant"], row["bucket"],
                                       {k: v for k, v in row.items() if k not in ("variant", "bucket")})
    body = client.get(f"/experiments/{experiment_id}/results").get_json()
    assert body["significantly_better"] == "full" and body["experiment"]["state"] == "running"
    assert [v["impressions"] for v in body["variants"]] == [1000, 1000]
    assert body["hourly"]["hours"] == ["2024-10-04T00:00:00+00:00"]     # bucket 480,000 = that hour
    assert body["hourly"]["variants"] == {"full": {"impressions": [1000], "ctr": [0.2]},
                                          "popular": {"impressions": [1000], "ctr": [0.1]}}
    assert client.get("/experiments/nope/results").status_code == 404


def test_a_bad_experiment_is_a_400_naming_the_field(app):
    answer = app.test_client().post("/experiments", json=_spec(variants=[{"name": "a", "share": 2}]))
    assert answer.status_code == 400 and "share" in answer.get_json()["error"]


def test_a_list_kafka_cannot_take_is_dropped_and_counted_not_an_error(app):
    app.extensions["animerec"].producer.down = True
    before = SERVED_LISTS.labels("dropped")._value.get()
    answer = app.test_client().get("/recommends/42?k=3")
    assert answer.status_code == 200 and answer.get_json()["items"]
    assert SERVED_LISTS.labels("dropped")._value.get() == before + 1
