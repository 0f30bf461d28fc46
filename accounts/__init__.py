"""Who may call the platform: viewers' accounts (passwords) and machines' API keys (roles).

The store keeps the rows (:class:`store.interfaces.AccountStore`); this stage makes and checks
the secrets in them. The API (tokens, route access) and the launcher (``python -m ops keys``)
sit above it.
"""
from accounts.keys import ApiKey, KeyRing, create_key, parse_key
from accounts.passwords import hash_password, password_matches
from accounts.secrets import ensure_jwt_secret, jwt_secret, write_private

__all__ = ["ApiKey", "KeyRing", "create_key", "ensure_jwt_secret", "hash_password", "jwt_secret", "parse_key",
           "password_matches", "write_private"]
