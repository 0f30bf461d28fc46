"""Who is calling, and may they: every route declares its :class:`Access`, checked before its input is read.

Two kinds of credential:

* ``X-API-Key: ak.<id>.<secret>`` -- a machine's key with one role of :data:`config.registry.ROLES`:
  ``reader`` (any user's recommendations and history), ``producer`` (events and ratings for any
  user), ``admin`` (everything, including training, uploads and keys);
* ``Authorization: Bearer <access token>`` -- a signed-in viewer (a JWT from ``/auth/login``), who
  may read and write their own user id's data and nobody else's.

A credential that is presented and wrong is a 401 on any route; a route that needs one and got
none is a 401; a credential whose role or user does not fit is a 403. With ``ANIMEREC_AUTH=off``
(loopback only) every caller is a local admin. Rate limits (flask-limiter) count per key, per
signed-in user, or per client address.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from jwt import ExpiredSignatureError, PyJWTError

from accounts import KeyRing
from api import errors
from api.errors import ApiError
from config import Settings

KEY_HEADER = "X-API-Key"
VIEWER = "viewer"
# Documented in the OpenAPI document's components; each protected operation names the ones it takes.
SECURITY_SCHEMES = {
    "apiKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER,
               "description": "A machine's key (roles reader, producer, admin): python -m ops keys create"},
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "A signed-in viewer's access token from POST /auth/login"},
}


@dataclass(frozen=True)
class Principal:
    """The caller: ``kind`` ``key``, ``user``, ``anonymous`` or ``local`` (auth off)."""

    kind: str
    role: str | None = None
    user_id: int | None = None
    username: str | None = None
    key_id: str | None = None

    @property
    def rate_key(self) -> str:
        if self.kind == "key":
            return f"key:{self.key_id}"
        if self.kind == "user":
            return f"user:{self.user_id}"
        return f"ip:{get_remote_address()}"


@dataclass(frozen=True)
class Access:
    """Who may call a route.

    ``roles``: key roles allowed besides ``admin``; ``own``: a signed-in viewer may call it for
    their own user id, named by this path or query parameter (``"body"``: the route checks the
    ids of its body with :func:`require_own`); ``signed_in``: only a viewer (the ``/me`` routes);
    ``refresh``: a refresh token instead of an access token; ``public``: anyone.
    """

    roles: tuple[str, ...] = ()
    own: str | None = None
    signed_in: bool = False
    refresh: bool = False
    public: bool = False

    def security(self) -> list[dict]:
        """This access as an OpenAPI ``security`` requirement (empty: public)."""
        if self.public:
            return []
        schemes = []
        if self.roles or not (self.signed_in or self.refresh):
            schemes.append({"apiKey": []})
        if self.own or self.signed_in or self.refresh:
            schemes.append({"bearer": []})
        return schemes

    def describe(self) -> str:
        if self.public:
            return "public"
        needs = [f"an API key with role {' or '.join((*self.roles, 'admin'))}"] if not self.signed_in else []
        if self.signed_in or self.refresh:
            needs = [f"a signed-in user's {'refresh' if self.refresh else 'access'} token"]
        elif self.own:
            needs.append("the signed-in user's own token")
        return " or ".join(needs)


PUBLIC = Access(public=True)
ADMIN = Access()
# Routes no module declared (the framework's own, e.g. the OpenAPI viewer) by endpoint prefix.
PUBLIC_ENDPOINTS = ("static", "openapi.", "swagger.")


def access(policy: Access):
    """Declare a view's access; put it under the route decorator (flask-openapi3 keeps the attribute)."""
    def mark(view):
        view.__access__ = policy
        return view
    return mark


def policy_of(view, endpoint: str) -> Access:
    """A view's declared access; undeclared routes are admin-only (fail closed), except the framework's own."""
    declared = getattr(view, "__access__", None)
    if declared is not None:
        return declared
    return PUBLIC if endpoint.startswith(PUBLIC_ENDPOINTS) else ADMIN


def principal() -> Principal:
    return g.get("principal") or Principal("anonymous")


def require_own(user_ids) -> None:
    """A signed-in viewer may write only their own user id (keys and local callers may write any)."""
    caller = principal()
    if caller.kind != "user":
        return
    others = sorted({int(u) for u in user_ids} - {caller.user_id})
    if others:
        raise ApiError(403, f"a signed-in user may only write their own user id ({caller.user_id}), not {others}")


def tokens_for(account: dict) -> dict:
    """An access and a refresh token for an account (identity: the username; claims: the user id)."""
    claims = {"user_id": account["user_id"]}
    return {"access_token": create_access_token(account["username"], additional_claims=claims),
            "refresh_token": create_refresh_token(account["username"], additional_claims=claims),
            "token_type": "Bearer", "user_id": account["user_id"], "username": account["username"]}


# --- resolving and checking -----------------------------------------------------------------------

def _from_key(keyring: KeyRing, presented: str) -> Principal:
    key = keyring.check(presented)
    if key is None:
        raise ApiError(401, f"unknown, revoked or malformed API key in {KEY_HEADER}")
    return Principal("key", role=key.role, key_id=key.key_id)


def _from_token(refresh: bool) -> Principal:
    try:
        found = verify_jwt_in_request(optional=not refresh, refresh=refresh)
    except ExpiredSignatureError as exc:
        raise ApiError(401, "token expired: get a new one from POST /auth/refresh (or sign in again)") from exc
    except (JWTExtendedException, PyJWTError) as exc:
        raise ApiError(401, f"invalid token: {exc}") from exc
    if found is None:
        return Principal("anonymous")
    claims = get_jwt()
    return Principal("user", role=VIEWER, user_id=int(claims["user_id"]), username=claims["sub"])


def _requested_user(name: str) -> int | None:
    value = (request.view_args or {}).get(name, request.args.get(name))
    try:
        return None if value is None else int(value)
    except ValueError:
        return None      # not a user id at all: the route's validation answers 400


def _check(policy: Access, caller: Principal) -> None:
    if policy.public or caller.kind == "local":
        return
    if caller.kind == "anonymous":
        raise ApiError(401, f"this route needs {policy.describe()}", needs=policy.describe())
    if caller.kind == "key":
        if policy.signed_in or policy.refresh:
            raise ApiError(403, f"this route is for signed-in users, not API keys: {policy.describe()}")
        if caller.role != "admin" and caller.role not in policy.roles:
            raise ApiError(403, f"an API key with role {caller.role!r} may not call this route; it needs "
                                f"{policy.describe()}", needs=policy.describe())
        return
    if policy.signed_in or policy.refresh or policy.own == "body":
        return
    if policy.own:
        requested = _requested_user(policy.own)
        if requested is None or requested == caller.user_id:
            return
        raise ApiError(403, f"a signed-in user may only see their own data (user {caller.user_id}), "
                            f"not user {requested}")
    raise ApiError(403, f"signed-in users may not call this route; it needs {policy.describe()}",
                   needs=policy.describe())


def authorise() -> None:
    """Before every request: who is calling (``g.principal``), and whether the route lets them."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None:
        return
    policy = policy_of(view, request.endpoint)
    resources = current_app.extensions["animerec"]
    if resources.settings.auth == "off":
        g.principal = Principal("local", role="admin")
        return
    if policy.public:  # credentials are not looked at: /health must answer while the key store is down
        g.principal = Principal("anonymous")
        return
    presented = request.headers.get(KEY_HEADER)
    if presented is not None and not policy.refresh:
        caller = _from_key(resources.keyring, presented)
    else:
        caller = _from_token(refresh=policy.refresh)
    g.principal = caller
    _check(policy, caller)


# --- wiring -------------------------------------------------------------------------------------

def _write_limit() -> str:
    security = current_app.extensions["animerec"].settings.security
    return security.key_write_limit if principal().kind in ("key", "local") else security.write_limit


def _login_limit() -> str:
    return current_app.extensions["animerec"].settings.security.login_limit


LIMITS = {"login": (_login_limit, get_remote_address), "write": (_write_limit, lambda: principal().rate_key)}


def limited(kind: str):
    """Rate-limit a view: ``login`` (per client address) or ``write`` (per key, user or address)."""
    if kind not in LIMITS:
        raise ValueError(f"unknown limit {kind!r}")

    def mark(view):
        view.__rate_limit__ = kind
        return view
    return mark


def register(app, settings: Settings, jwt_secret: str | None) -> None:
    """Check credentials before every request, sign tokens, and apply the rate limits views declare."""
    if settings.auth == "on" and not jwt_secret:
        raise ValueError("auth is on but no JWT secret: set ANIMEREC_SECURITY_JWT_SECRET (the launcher keeps one "
                         "in run/secrets/jwt-secret) or ANIMEREC_AUTH=off on loopback")
    app.config.update(JWT_SECRET_KEY=jwt_secret or "auth-off", JWT_TOKEN_LOCATION=["headers"],
                      JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.security.access_token_minutes),
                      JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=settings.security.refresh_token_days))
    JWTManager(app)
    app.before_request(authorise)
    # flask-limiter's own headers would put a Retry-After on every answer of a limited route; 429s get theirs here.
    limiter = Limiter(key_func=get_remote_address, app=app, storage_uri=settings.security.rate_limit_storage,
                      headers_enabled=False, strategy="fixed-window")

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded):
        current = limiter.current_limit
        window = exc.limit.limit.get_expiry()
        wait = min(window, max(1, math.ceil(current.reset_at - time.time()))) if current is not None else window
        return errors.answer(ApiError(429, f"rate limit exceeded: {exc.description}; retry after {wait}s",
                                      retry_after_s=wait, limit=exc.description))
    for endpoint, view in list(app.view_functions.items()):
        kind = getattr(view, "__rate_limit__", None)
        if kind is not None:
            limit, key = LIMITS[kind]
            app.view_functions[endpoint] = limiter.limit(limit, key_func=key, scope=kind)(view)


def document(app) -> None:
    """Name each protected operation's credentials in the OpenAPI document (from its :class:`Access`)."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        item = app.paths.get(path)
        if view is None or item is None:
            continue
        policy = policy_of(view, rule.endpoint)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = getattr(item, method.lower(), None)
            if operation is not None and not policy.public:
                operation.security = policy.security()
                operation.description = "\n\n".join(filter(None, [operation.description,
                                                                    f"Access: {policy.describe()}."]))
