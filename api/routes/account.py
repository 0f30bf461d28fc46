"""Viewers' accounts: sign up, sign in, refresh a token, and the signed-in user's own profile and data (``/me``).

A signed-in user is identified by their token alone: ``/me/recommends``, ``/me/ratings`` and
``/me/history`` take no user id. Their favourite genres seed recommendations until they have
rated or clicked something.
"""
from __future__ import annotations


from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from accounts import hash_password, password_matches
from api.auth import PUBLIC, Access, access, limited, principal, tokens_for
from api.errors import ApiError
from api.models import AnimePath, LoginIn, MyRatingIn, NoQuery, ProfileIn, RegisterIn, TopK
from api.query import index_of
from api.routes.ratings import rate
from api.routes.recs import recommendations
from ingest.events import EventIn

tag = Tag(name="accounts", description="Sign up, sign in, and a signed-in user's own profile, ratings and history")
blueprint = APIBlueprint("account", __name__, abp_tags=[tag])
SIGNED_IN = Access(signed_in=True)


def _resources():
    return current_app.extensions["animerec"]


def _checked_genres(genres: list[str] | None) -> list[str] | None:
    if genres is None:
        return None
    known = set(_resources().catalog.genres)
    unknown = [g for g in genres if g not in known]
    if unknown:
        raise ApiError(400, f"invalid request: favourite_genres: unknown genre(s) {unknown}",
                       details=[{"field": "favourite_genres", "message": f"choose from {sorted(known)}"}])
    return list(dict.fromkeys(genres))


def _profile(account: dict) -> dict:
    return {"username": account["username"], "user_id": account["user_id"], "email": account["email"],
            "display_name": account["display_name"], "favourite_genres": account["favourite_genres"],
            "created_at": account["created_at"].isoformat() if account["created_at"] else None}


def _my_user_id() -> int:
    """The signed-in user's id, from their token."""
    caller = principal()
    if caller.kind != "user":
        raise ApiError(401, "no signed-in user: these routes need a user's token (with ANIMEREC_AUTH=off there is "
                            "none; use the routes that take a user id)")
    return caller.user_id


def _me() -> dict:
    """The signed-in user's account, read from the store (for the routes that show or change it)."""
    _my_user_id()
    account = _resources().store.account(principal().username)
    if account is None:
        raise ApiError(401, "this token's account no longer exists")
    return account


@blueprint.post("/auth/register", summary="Create an account; answers its profile and a pair of tokens")
@access(PUBLIC)
@limited("login")
def register(body: RegisterIn, query: NoQuery):
    store = _resources().store
    genres = _checked_genres(body.favourite_genres)
    account = {"username": body.username, "user_id": store.next_user_id(), "email": body.email,
               "password_hash": hash_password(body.password), "display_name": body.display_name or body.username,
               "favourite_genres": genres}
    taken = store.create_account(account)
    if taken:
        raise ApiError(409, f"that {taken} is taken", field=taken)
    created = store.account(body.username)
    return {"profile": _profile(created), **tokens_for(created)}, 201


@blueprint.post("/auth/login", summary="Sign in with username or email and password; answers a pair of tokens")
@access(PUBLIC)
@limited("login")
def login(body: LoginIn, query: NoQuery):
    store = _resources().store
    account = store.account(body.username) if body.username else store.account_by_email(body.email)
    if not password_matches(account["password_hash"] if account else None, body.password):
        raise ApiError(401, "wrong username, email or password")
    return tokens_for(account)


@blueprint.post("/auth/refresh", summary="A new access token for a refresh token (Authorization: Bearer <refresh>)")
@access(Access(refresh=True))
def refresh(query: NoQuery):
    account = _me()
    tokens = tokens_for(account)
    return {"access_token": tokens["access_token"], "token_type": "Bearer", "user_id": account["user_id"]}


@blueprint.get("/me", summary="The signed-in user's profile")
@access(SIGNED_IN)
def get_me(query: NoQuery):
    return _profile(_me())


@blueprint.put("/me", summary="Change the signed-in user's display name, favourite genres or password")
@access(SIGNED_IN)
def put_me(body: ProfileIn, query: NoQuery):
    changes = {}
    if body.display_name is not None:
        changes["display_name"] = body.display_name
    if body.favourite_genres is not None:
        changes["favourite_genres"] = _checked_genres(body.favourite_genres)
    if body.password is not None:
        changes["password_hash"] = hash_password(body.password)
    account = _resources().store.update_account(_me()["username"], changes) if changes else _me()
    return _profile(account)


@blueprint.get("/me/recommends", summary="The signed-in user's recommendations, each with the reason it is there, "
                                         "and titles like the one they just clicked")
@access(SIGNED_IN)
def my_recommends(query: TopK):
    account = _me()
    return recommendations(account["user_id"], query.k, explained=True, genres=tuple(account["favourite_genres"]))


@blueprint.get("/me/ratings", summary="The signed-in user's ratings, by title id")
@access(SIGNED_IN)
def my_ratings(query: NoQuery):
    user_id = _my_user_id()
    index = index_of(_resources().catalog)
    rows = _resources().store.user_ratings(user_id)
    return {"user_id": user_id, "count": len(rows),
            "items": [{"anime_id": r["anime_id"], "name": (index.item(r["anime_id"]) or {}).get("name"),
                       "rating": r["rating"]} for r in rows]}


@blueprint.post("/me/ratings", summary="Rate a title as the signed-in user (1..10, or -1 for watched)")
@access(SIGNED_IN)
@limited("write")
def rate_as_me(body: MyRatingIn, query: NoQuery):
    return rate(EventIn(user_id=_my_user_id(), anime_id=body.anime_id), body.rating)


@blueprint.delete("/me/ratings/<anime_id>", summary="Remove the signed-in user's rating of a title")
@access(SIGNED_IN)
@limited("write")
def unrate_as_me(path: AnimePath, query: NoQuery):
    return rate(EventIn(user_id=_my_user_id(), anime_id=path.anime_id), None)


@blueprint.get("/me/history", summary="The signed-in user's recent clicks, views and ratings, newest first")
@access(SIGNED_IN)
def my_history(query: NoQuery):
    user_id = _my_user_id()
    catalog = _resources().catalog
    events = _resources().store.recent_events(user_id)
    return {"user_id": user_id,
            "items": [{**catalog.brief(e["anime_id"]), "kind": e["kind"], "event_id": e["event_id"],
                       "ts": e["ts"].isoformat()} for e in events if e["anime_id"] in catalog]}
