"""Credentials on the real app (memory store, fake producer): accounts, tokens, keys, roles, limits, body sizes."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from accounts import create_key
from store import StoreUnavailable
from tests.unit.test_api_ratings_upload import CATALOG, make_app

pytestmark = pytest.mark.auth_on
SECRET = "unit-test-signing-key-" + "x" * 20
PASSWORD = "correct horse battery"


def _app(**security):
    return make_app(security={"jwt_secret": SECRET, **security})


@pytest.fixture
def app():
    return _app()


@pytest.fixture
def client(app):
    return app.test_client()


def _key(app, role: str) -> dict:
    return {"X-API-Key": create_key(app.extensions["animerec"].store, role)[0]}


def _sign_up(client, name="ann", email=None, **extra) -> dict:
    answer = client.post("/auth/register", json={"username": name, "email": email or f"{name}@example.org",
                                                 "password": PASSWORD, **extra})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- accounts and tokens ----------------------------------------------------------------------------

def test_register_stores_an_argon2_hash_and_answers_tokens_and_a_profile(client, app):
    body = _sign_up(client, favourite_genres=["Drama"])
    assert body["profile"]["user_id"] >= 1_500_000_000 and body["profile"]["favourite_genres"] == ["Drama"]
    stored = app.extensions["animerec"].store.account("ann")
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    assert client.get("/me", headers=_bearer(body["access_token"])).get_json()["username"] == "ann"


def test_a_taken_name_or_email_is_a_409_naming_it(client):
    _sign_up(client)
    again = client.post("/auth/register", json={"username": "ANN", "email": "x@example.org", "password": PASSWORD})
    assert again.status_code == 409 and again.get_json()["field"] == "username"
    same_mail = client.post("/auth/register", json={"username": "bob", "email": "Ann@Example.org", "password": PASSWORD})
    assert same_mail.status_code == 409 and same_mail.get_json()["field"] == "email"


def test_register_rejects_unknown_genres_and_short_passwords_with_400(client):
    bad_genre = client.post("/auth/register", json={"username": "bob", "email": "b@example.org", "password": PASSWORD,
                                                    "favourite_genres": ["Cooking"]})
    assert bad_genre.status_code == 400 and "Cooking" in bad_genre.get_json()["error"]
    short = client.post("/auth/register", json={"username": "bob", "email": "b@example.org", "password": "short"})
    assert short.status_code == 400 and short.get_json()["details"][0]["field"] == "password"


def test_login_by_name_or_email_and_a_wrong_password_is_401(client):
    _sign_up(client)
    by_name = client.post("/auth/login", json={"username": "Ann", "password": PASSWORD})
    by_mail = client.post("/auth/login", json={"email": "ann@example.org", "password": PASSWORD})
    assert by_name.status_code == 200 and by_mail.status_code == 200 and by_name.get_json()["refresh_token"]
    wrong = client.post("/auth/login", json={"username": "ann", "password": "not the password"})
    nobody = client.post("/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == 401 and nobody.status_code == 401
    assert wrong.get_json()["error"] == nobody.get_json()["error"]        # no hint which one was wrong


def test_an_empty_name_or_email_at_login_is_a_400(client):
    for body in ({"email": "", "password": "x"}, {"username": "", "password": "x"}, {"password": "x"}):
        answer = client.post("/auth/login", json=body)
        assert answer.status_code == 400 and answer.is_json, body


def test_refresh_gives_a_new_access_token_and_takes_only_a_refresh_token(client):
    tokens = _sign_up(client)
    fresh = client.post("/auth/refresh", headers=_bearer(tokens["refresh_token"]))
    assert fresh.status_code == 200
    assert client.get("/me", headers=_bearer(fresh.get_json()["access_token"])).status_code == 200
    assert client.post("/auth/refresh", headers=_bearer(tokens["access_token"])).status_code == 401
    assert client.get("/me", headers=_bearer(tokens["refresh_token"])).status_code == 401


def test_put_me_changes_genres_and_password(client):
    tokens = _sign_up(client)
    answer = client.put("/me", headers=_bearer(tokens["access_token"]),
                        json={"favourite_genres": ["Action"], "password": "a new password"})
    assert answer.status_code == 200 and answer.get_json()["favourite_genres"] == ["Action"]
    assert client.post("/auth/login", json={"username": "ann", "password": PASSWORD}).status_code == 401
    assert client.post("/auth/login", json={"username": "ann", "password": "a new password"}).status_code == 200


def test_a_signed_in_user_rates_and_reads_their_own_data_without_a_user_id(client, app):
    tokens = _sign_up(client)
    me = tokens["user_id"]
    rated = client.post("/me/ratings", headers=_bearer(tokens["access_token"]), json={"anime_id": 5114, "rating": 9})
    assert rated.status_code == 202 and rated.get_json()["user_id"] == me
    event = app.extensions["animerec"].producer.events[-1]
    assert (event.user_id, event.anime_id, event.rating) == (me, 5114, 9)
    app.extensions["animerec"].store.upsert_ratings([(me, 5114, 9)])
    ratings = client.get("/me/ratings", headers=_bearer(tokens["access_token"])).get_json()
    assert ratings["user_id"] == me and ratings["items"] == [{"anime_id": 5114, "name": CATALOG.brief(5114)["name"],
                                                              "rating": 9}]
    assert client.get("/me/history", headers=_bearer(tokens["access_token"])).status_code == 200


# --- who may call what --------------------------------------------------------------------------------

PROTECTED = [("get", "/recommends/1", None), ("get", "/recall/1", None), ("get", "/rank/1", None),
             ("get", "/user?user_id=1", None), ("post", "/clicks", {"user_id": 1, "anime_id": 1}),
             ("post", "/views", {"user_id": 1, "anime_id": 1}),
             ("post", "/events", {"events": [{"kind": "click", "user_id": 1, "anime_id": 1}]}),
             ("post", "/ratings", {"user_id": 1, "anime_id": 1, "rating": 5}), ("delete", "/ratings/1/1", None),
             ("post", "/admin/train", None), ("get", "/admin/train", None), ("get", "/admin/metrics", None),
             ("get", "/admin/keys", None), ("post", "/admin/keys", {"role": "reader"}), ("get", "/me", None),
             ("get", "/me/recommends", None), ("post", "/upload", None)]


def _call(client, method, path, body, headers):
    return getattr(client, method)(path, json=body, headers=headers)


@pytest.mark.parametrize("method,path,body", PROTECTED)
def test_no_credential_a_wrong_key_and_a_bad_token_get_401(client, method, path, body):
    expired = _expired_token(client)
    tampered = _tampered_token(client)
    for headers in ({}, {"X-API-Key": "ak.0123456789abcdef." + "A" * 43}, {"X-API-Key": "nonsense"},
                    _bearer(tampered), _bearer(expired), _bearer("not.a.jwt")):
        answer = _call(client, method, path, body, headers)
        assert answer.status_code == 401, (path, headers, answer.get_json())
        assert answer.is_json and answer.get_json()["error"]


def _tampered_token(client) -> str:
    with client.application.app_context():
        header, payload, signature = create_access_token("ann", additional_claims={"user_id": 1}).split(".")
    return ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])


def _expired_token(client) -> str:
    with client.application.app_context():
        return create_access_token("ann", additional_claims={"user_id": 1}, expires_delta=timedelta(seconds=-1))


@pytest.mark.parametrize("method,path,body", [p for p in PROTECTED if p[1].startswith(("/admin", "/upload"))])
def test_reader_and_producer_keys_get_403_on_admin_routes(client, app, method, path, body):
    for role in ("reader", "producer"):
        assert _call(client, method, path, body, _key(app, role)).status_code == 403


def test_each_role_reaches_its_own_routes_only(client, app):
    reader, producer = _key(app, "reader"), _key(app, "producer")
    assert client.get("/recommends/1", headers=reader).status_code == 200
    assert client.post("/clicks", json={"user_id": 1, "anime_id": 1}, headers=reader).status_code == 403
    assert client.post("/clicks", json={"user_id": 1, "anime_id": 1}, headers=producer).status_code == 202
    assert client.get("/recommends/1", headers=producer).status_code == 403
    assert client.get("/admin/keys", headers=_key(app, "admin")).status_code == 200


def test_a_signed_in_user_cannot_read_or_write_another_users_data(client):
    tokens = _sign_up(client)
    me, auth = tokens["user_id"], _bearer(tokens["access_token"])
    assert client.get(f"/recommends/{me}", headers=auth).status_code == 200
    for path in ("/recommends/1", "/recall/1", "/rank/1", "/user?user_id=1"):
        assert client.get(path, headers=auth).status_code == 403, path
    assert client.post("/clicks", json={"user_id": 1, "anime_id": 1}, headers=auth).status_code == 403
    assert client.post("/events", json={"events": [{"kind": "view", "user_id": me, "anime_id": 1},
                                                   {"kind": "view", "user_id": 1, "anime_id": 1}]},
                       headers=auth).status_code == 403
    assert client.post("/ratings", json={"user_id": 1, "anime_id": 1, "rating": 3}, headers=auth).status_code == 403
    assert client.delete("/ratings/1/1", headers=auth).status_code == 403
    assert client.post("/clicks", json={"user_id": me, "anime_id": 1}, headers=auth).status_code == 202
    assert client.get("/admin/keys", headers=auth).status_code == 403


def test_public_routes_need_no_credential(client):
    for path in ("/health", "/anime", "/anime/5114", "/sim/5114", "/openapi/openapi.json", "/metrics"):
        assert client.get(path).status_code in (200, 404, 503), path
        assert client.get(path).status_code != 401


def test_public_routes_ignore_a_credential_they_cannot_check(client, app):
    app.extensions["animerec"].keyring.check = lambda presented: (_ for _ in ()).throw(
        StoreUnavailable("Cassandra unavailable (read): NoHostAvailable"))
    wrong = {"X-API-Key": "ak.0123456789abcdef." + "A" * 43, "Authorization": "Bearer not-a-token"}
    for path in ("/health", "/anime/5114", "/sim/5114"):
        answer = client.get(path, headers=wrong)
        assert answer.status_code in (200, 404, 503), (path, answer.get_json())
        assert "error" not in answer.get_json(), (path, answer.get_json())
    assert client.get("/recommends/1", headers={"X-API-Key": wrong["X-API-Key"]}).status_code == 503


def test_a_revoked_key_stops_working_once_its_cache_expires(app):
    app = _app(key_cache_s=0)
    client = app.test_client()
    key = _key(app, "reader")
    assert client.get("/recommends/1", headers=key).status_code == 200
    app.extensions["animerec"].store.revoke_api_key(key["X-API-Key"].split(".")[1])
    assert client.get("/recommends/1", headers=key).status_code == 401


def test_admin_makes_lists_and_revokes_keys_over_the_api(client, app):
    admin = _key(app, "admin")
    made = client.post("/admin/keys", json={"role": "producer", "name": "importer"}, headers=admin).get_json()
    assert made["api_key"].startswith("ak.") and made["role"] == "producer"
    listed = client.get("/admin/keys", headers=admin).get_json()["keys"]
    assert made["key_id"] in [k["key_id"] for k in listed] and all("api_key" not in k for k in listed)
    stored = app.extensions["animerec"].store.api_key(made["key_id"])
    assert made["api_key"].split(".")[2] not in stored["secret_hash"]
    assert client.delete(f"/admin/keys/{made['key_id']}", headers=admin).get_json()["revoked_at"]


# --- rate limits, sizes, injection ------------------------------------------------------------------

def test_login_beyond_the_limit_is_429_json_with_retry_after():
    client = _app(login_limit="3 per minute").test_client()
    answers = [client.post("/auth/login", json={"username": "ann", "password": "x"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[-1].is_json and 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].get_json()["retry_after_s"] == int(answers[-1].headers["Retry-After"])


def test_writes_are_limited_per_key_and_a_second_key_has_its_own_budget():
    app = _app(key_write_limit="2 per minute")
    client = app.test_client()
    first, second = _key(app, "producer"), _key(app, "producer")
    statuses = [client.post("/clicks", json={"user_id": 1, "anime_id": 1}, headers=first).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert client.post("/clicks", json={"user_id": 1, "anime_id": 1}, headers=second).status_code == 202


def test_a_body_over_the_limit_is_413_json(app):
    client = _app().test_client()
    key = _key(client.application, "producer")
    big = {"events": [{"kind": "click", "user_id": 1, "anime_id": 1, "event_id": "x" * 60}] * 40_000}
    answer = client.post("/events", json=big, headers=key)
    assert answer.status_code == 413 and answer.is_json


CQL_INJECTIONS = ["'; DROP TABLE accounts; --", "ann' OR '1'='1", "x\"); TRUNCATE api_keys; --", "\x00\x01"]


@pytest.mark.parametrize("text", CQL_INJECTIONS)
def test_injection_strings_in_text_fields_change_nothing(client, app, text):
    _sign_up(client)
    store = app.extensions["animerec"].store
    before = (store.account("ann"), store.api_keys())
    answers = [client.post("/auth/login", json={"username": text, "password": text}),
               client.post("/auth/login", json={"email": text, "password": PASSWORD}),
               client.post("/auth/register", json={"username": text, "email": text, "password": text}),
               client.get("/anime", query_string={"q": text}), client.get(f"/anime?genre={text}")]
    assert all(a.status_code < 500 for a in answers)
    assert (store.account("ann"), store.api_keys()) == before


def test_an_undeclared_route_is_admin_only(app):
    from api.auth import ADMIN, policy_of
    assert policy_of(lambda: None, "someblueprint.new_route") is ADMIN


def test_a_token_of_a_deleted_account_is_401_on_me(client, app):
    tokens = _sign_up(client)
    app.extensions["animerec"].store._accounts.clear()
    assert client.get("/me", headers=_bearer(tokens["access_token"])).status_code == 401


def test_tokens_expire_after_their_configured_minutes():
    app = _app(access_token_minutes=1)
    with app.app_context():
        from flask_jwt_extended import decode_token
        token = create_access_token("ann", additional_claims={"user_id": 1})
        claims = decode_token(token)
    assert 55 <= claims["exp"] - time.time() <= 61
