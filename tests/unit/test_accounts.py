"""API keys and passwords: the secret never stored, a key checked against its digest, revocation, outages."""
from __future__ import annotations

import pytest

from accounts import KeyRing, create_key, hash_password, parse_key, password_matches
from store import MemoryStore, StoreUnavailable


class Flaky(MemoryStore):
    down = False

    def api_key(self, key_id):
        if self.down:
            raise StoreUnavailable("Cassandra unavailable (read)")
        return super().api_key(key_id)


def test_a_key_is_stored_as_a_digest_and_checks_only_with_its_own_secret():
    store = MemoryStore()
    plaintext, key = create_key(store, "producer", "importer")
    key_id, secret = parse_key(plaintext)
    assert key_id == key.key_id and secret not in str(store.api_key(key_id))
    ring = KeyRing(store, ttl_s=0)
    assert ring.check(plaintext).role == "producer"
    other_secret = "B" * 43 if secret != "B" * 43 else "C" * 43
    assert ring.check(f"ak.{key_id}.{other_secret}") is None
    assert ring.check("ak.ffffffffffffffff." + secret) is None and ring.check("garbage") is None


def test_unknown_roles_are_refused():
    with pytest.raises(ValueError):
        create_key(MemoryStore(), "superuser")


def test_a_revoked_key_fails_once_the_cache_expires():
    store = MemoryStore()
    plaintext, key = create_key(store, "reader")
    cached, fresh = KeyRing(store, ttl_s=3600), KeyRing(store, ttl_s=0)
    assert cached.check(plaintext) and fresh.check(plaintext)
    store.revoke_api_key(key.key_id)
    assert cached.check(plaintext) is not None          # within its cache time
    assert fresh.check(plaintext) is None


def test_a_key_seen_valid_stays_valid_while_the_store_is_down_and_an_unseen_one_is_an_outage():
    store = Flaky()
    seen, _ = create_key(store, "producer")
    unseen, _ = create_key(store, "producer")
    ring = KeyRing(store, ttl_s=0)
    assert ring.check(seen)
    store.down = True
    assert ring.check(seen).role == "producer"
    with pytest.raises(StoreUnavailable):
        ring.check(unseen)


def test_passwords_are_argon2id_and_a_missing_account_never_matches():
    stored = hash_password("a long password")
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert password_matches(stored, "a long password") and not password_matches(stored, "a long passwore")
    assert not password_matches(None, "a long password") and not password_matches("not a hash", "x")
