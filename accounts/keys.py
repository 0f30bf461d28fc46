"""API keys: ``ak.<key_id>.<secret>``; the store keeps the key id, its role and the secret's SHA-256.

A key's secret is 256 random bits, so a fast digest is as safe as a slow hash here (nothing to
guess); the digest is compared in constant time. :class:`KeyRing` is what a server process
checks keys with: it remembers a looked-up key for ``ttl_s`` so a request costs no store read,
which means a revoked key stops working within ``ttl_s``.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from config.registry import ROLES
from store.errors import StoreUnavailable
from store.interfaces import AccountStore

PREFIX = "ak"
_FORMAT = re.compile(r"^ak\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    role: str
    name: str | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(plaintext: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, None otherwise."""
    match = _FORMAT.match(plaintext.strip())
    return (match.group(1), match.group(2)) if match else None


def create_key(store: AccountStore, role: str, name: str | None = None) -> tuple[str, ApiKey]:
    """Make and store a new key of ``role``; the plaintext (shown once, never stored) and the key."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    store.put_api_key({"key_id": key_id, "secret_hash": _digest(secret), "role": role, "name": name})
    return f"{PREFIX}.{key_id}.{secret}", ApiKey(key_id, role, name)


class KeyRing:
    """Checks presented keys against the store, remembering each looked-up key for ``ttl_s``."""

    def __init__(self, store: AccountStore, ttl_s: float = 30.0):
        self._store, self._ttl_s = store, ttl_s
        self._known: dict[str, tuple[float, dict | None]] = {}
        self._lock = threading.Lock()

    def _row(self, key_id: str) -> dict | None:
        now = time.monotonic()
        cached = self._known.get(key_id)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        try:
            row = self._store.api_key(key_id)
        except StoreUnavailable:
            if cached is not None and cached[1] is not None:
                return cached[1]        # the store is down: a key seen valid stays valid (events still go to Kafka)
            raise
        with self._lock:
            if len(self._known) > 10_000:       # keys guessed at random must not grow this without bound
                self._known.clear()
            self._known[key_id] = (now, row)
        return row

    def check(self, plaintext: str) -> ApiKey | None:
        """The key ``plaintext`` is, when it is well formed, known, not revoked and its secret matches."""
        parsed = parse_key(plaintext)
        if parsed is None:
            return None
        key_id, secret = parsed
        row = self._row(key_id)
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(row["secret_hash"], _digest(secret)):
            return None
        return ApiKey(key_id, row["role"], row["name"])
