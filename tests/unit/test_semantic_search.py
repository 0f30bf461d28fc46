"""Semantic and hybrid search: the packaged encoder against reference vectors, the embeddings job on a memory
store (only changed texts embedded again), the fusion, and GET /search's three modes on the real app.

Needs the model files that ``make test`` fetches (``make models``/``python -m ops fetch-model``)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from batch import embeddings as embeddings_job
from config import Settings
from config.registry import EMBEDDED_FIELDS
from search.encoder import SentenceEncoder
from search.packaged import ModelDirError
from search.hybrid import fuse
from tests.unit.test_api_ratings_upload import make_app
from tests.unit.test_search import ROWS

SETTINGS = Settings()
# all-MiniLM-L6-v2's first five dimensions for "This is an example sentence", as transformers 4.46.3
# (TFBertModel from the same safetensors) and sentence-transformers compute them.
REFERENCE = [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374480]


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder.load(SETTINGS.search.embedding_model_dir)


def test_the_encoder_reproduces_the_reference_model(encoder):
    vectors = encoder.encode(["This is an example sentence", "Each sentence is converted"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(vectors[0, :5], REFERENCE, atol=1e-5)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert abs(float(vectors[0] @ vectors[1]) - 0.4046) < 1e-3


def test_a_text_gets_the_same_vector_alone_or_in_a_batch_of_longer_ones(encoder):
    texts = ["a notebook", "a much longer sentence about a boy who plays volleyball in high school", "mecha"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_meaning_beats_shared_words(encoder):
    query, close, far = encoder.encode(["a teenager plays volleyball", "a short boy joins his high school's "
                                        "volleyball club", "a detective solves murders in Tokyo"])
    assert query @ close > query @ far + 0.2


def test_a_missing_or_foreign_model_directory_is_refused_by_name(tmp_path):
    with pytest.raises(ModelDirError, match="make models"):
        SentenceEncoder.load(tmp_path)
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (tmp_path / name).write_text("{}" if name.endswith(".json") else "")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(ModelDirError, match="t5"):
        SentenceEncoder.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ModelDirError, match="pools"):
        SentenceEncoder.load(tmp_path)


def test_fusion_adds_reciprocal_ranks_and_keeps_what_matched():
    keyword = [{"anime_id": 1, "matched": ["name"]}, {"anime_id": 2, "matched": ["synopsis"]}]
    semantic = [{"anime_id": 2, "matched": ["meaning"]}, {"anime_id": 3, "matched": ["meaning"]}]
    fused = fuse(keyword, semantic, k=3, rrf_k=10, semantic_weight=0.5, meaning_depth=1)
    # 2: 1/12 + 0.5/11 = 0.1288; 1: 1/11 = 0.0909; 3: 0.5/12 = 0.0417
    assert [h["anime_id"] for h in fused] == [2, 1, 3]
    assert fused[0]["score"] == round(1 / 12 + 0.5 / 11, 5)
    assert [h["matched"] for h in fused] == [["synopsis", "meaning"], ["name"], ["meaning"]]
    assert fuse(keyword, [], 2, 10, 0.5, 5) == [{"anime_id": 1, "score": round(1 / 11, 5), "matched": ["name"]},
                                              {"anime_id": 2, "score": round(1 / 12, 5), "matched": ["synopsis"]}]


@pytest.fixture
def app():
    app = make_app()
    resources = app.extensions["animerec"]
    resources.store.upsert_anime([{k: v for k, v in r.items() if k != "synopsis"} for r in ROWS])
    resources.store.set_synopses((r["anime_id"], r["synopsis"]) for r in ROWS if r["synopsis"])
    resources.refresh_catalog()
    return app


def test_the_embeddings_job_embeds_each_field_once_and_again_only_what_changed(app, encoder):
    store = app.extensions["animerec"].store
    first = embeddings_job.run(None, store, SETTINGS)
    titles = store.all_anime(with_synopsis=True)
    with_synopsis = sum(1 for r in titles if r.get("synopsis"))
    assert first["model"] == encoder.version and with_synopsis == sum(1 for r in ROWS if r["synopsis"])
    assert (first["name_embedded"], first["synopsis_embedded"]) == (len(titles), with_synopsis)
    stored = store.embeddings(encoder.version, "synopsis")
    death_note = list(stored.anime_ids).index(1535)
    assert np.allclose(stored.vectors[death_note], encoder.encode([ROWS[3]["synopsis"]])[0], atol=1e-5)
    again = embeddings_job.run(None, store, SETTINGS)
    assert (again["name_embedded"], again["synopsis_embedded"], again["synopsis_kept"]) == (0, 0, with_synopsis)
    store.set_synopses([(1535, "A shinigami drops a notebook into the human world.")])
    changed = embeddings_job.run(None, store, SETTINGS)
    assert (changed["name_embedded"], changed["synopsis_embedded"]) == (0, 1)
    assert set(EMBEDDED_FIELDS) == {"name", "synopsis"}


def test_search_by_meaning_finds_a_title_without_a_shared_word(app):
    embeddings_job.run(None, app.extensions["animerec"].store, SETTINGS)
    client = app.test_client()
    body = client.get("/search?q=a%20teenager%20and%20his%20team%20play%20a%20net%20sport&mode=semantic&k=2").get_json()
    assert body["items"][0]["anime_id"] == 20583 and body["items"][0]["matched"] == ["meaning"]
    hybrid = client.get("/search?q=Fullmetal&k=3").get_json()
    assert hybrid["mode"] == "hybrid" and "note" not in hybrid
    assert {i["anime_id"] for i in hybrid["items"][:2]} == {121, 5114}
    assert all("name" in i["matched"] for i in hybrid["items"][:2])


def test_without_embeddings_semantic_is_503_and_hybrid_says_it_used_keywords(app):
    client = app.test_client()
    answer = client.get("/search?q=notebook&mode=semantic")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
    assert "embeddings batch job" in answer.get_json()["error"] and answer.get_json()["dependency"] == "embeddings"
    hybrid = client.get("/search?q=notebook").get_json()
    assert hybrid["items"][0]["anime_id"] == 1535 and "keyword results only" in hybrid["note"]
