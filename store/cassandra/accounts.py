"""Accounts, their unique emails, API keys and the user-id sequence on Cassandra (lightweight transactions)."""
from __future__ import annotations

from datetime import datetime

from config.registry import ACCOUNT_USER_IDS
from store.cassandra.session import CassandraSession
from store.interfaces import ACCOUNT_FIELDS, API_KEY_FIELDS, AccountStore, utc

_ACCOUNT_COLUMNS = ", ".join(ACCOUNT_FIELDS)
_KEY_COLUMNS = ", ".join(API_KEY_FIELDS)
USER_SEQUENCE = "account_user_id"
_CLAIM_ATTEMPTS = 50


def _account(row: dict | None) -> dict | None:
    if row is None:
        return None
    account = {f: row.get(f) for f in ACCOUNT_FIELDS}
    account["favourite_genres"] = list(account["favourite_genres"] or [])
    account["created_at"], account["updated_at"] = utc(account["created_at"]), utc(account["updated_at"])
    return account


def _key(row: dict | None) -> dict | None:
    if row is None:
        return None
    key = {f: row.get(f) for f in API_KEY_FIELDS}
    key["created_at"], key["revoked_at"] = utc(key["created_at"]), utc(key["revoked_at"])
    return key


class CassandraAccounts(AccountStore):
    _db: CassandraSession

    def _claim_username(self, row: dict) -> bool:
        applied, _ = self._db.conditional(
            f"INSERT INTO {{accounts}} ({_ACCOUNT_COLUMNS}) VALUES ({','.join('?' * len(ACCOUNT_FIELDS))}) "
            "IF NOT EXISTS", *(row[f] for f in ACCOUNT_FIELDS))
        return applied

    def _claim_email(self, email: str, username: str) -> bool:
        applied, _ = self._db.conditional("INSERT INTO {account_emails} (email, username) VALUES (?, ?) IF NOT EXISTS",
                                          email, username)
        return applied

    def _release_username(self, username: str) -> None:
        self._db.conditional("DELETE FROM {accounts} WHERE username = ? IF EXISTS", username)

    def account(self, username: str) -> dict | None:
        if not username:
            return None                          # Cassandra refuses an empty partition key
        return _account(self._db.one(f"SELECT {_ACCOUNT_COLUMNS} FROM {{accounts}} WHERE username = ?",
                                     username.lower()))

    def account_by_email(self, email: str) -> dict | None:
        if not email:
            return None
        row = self._db.one("SELECT username FROM {account_emails} WHERE email = ?", email.lower())
        return None if row is None else self.account(row["username"])

    def _update_account(self, username: str, fields: dict) -> None:
        names = list(fields)
        self._db.write(f"UPDATE {{accounts}} SET {', '.join(f'{n} = ?' for n in names)} WHERE username = ?",
                       *(fields[n] for n in names), username)

    def next_user_id(self) -> int:
        for _ in range(_CLAIM_ATTEMPTS):
            row = self._db.one("SELECT next_id FROM {id_sequences} WHERE name = ?", USER_SEQUENCE)
            if row is None:
                applied, _ = self._db.conditional(
                    "INSERT INTO {id_sequences} (name, next_id) VALUES (?, ?) IF NOT EXISTS",
                    USER_SEQUENCE, ACCOUNT_USER_IDS.start + 1)
                if applied:
                    return ACCOUNT_USER_IDS.start
                continue
            current = row["next_id"]
            if current not in ACCOUNT_USER_IDS:
                raise RuntimeError("every account user id is taken")
            applied, _ = self._db.conditional("UPDATE {id_sequences} SET next_id = ? WHERE name = ? IF next_id = ?",
                                              current + 1, USER_SEQUENCE, current)
            if applied:
                return current
        raise RuntimeError(f"no user id after {_CLAIM_ATTEMPTS} attempts (too many concurrent sign-ups)")

    def _put_api_key(self, row: dict) -> None:
        self._db.write(f"INSERT INTO {{api_keys}} ({_KEY_COLUMNS}) VALUES ({','.join('?' * len(API_KEY_FIELDS))})",
                       *(row[f] for f in API_KEY_FIELDS))

    def api_key(self, key_id: str) -> dict | None:
        return _key(self._db.one(f"SELECT {_KEY_COLUMNS} FROM {{api_keys}} WHERE key_id = ?", key_id))

    def api_keys(self) -> list[dict]:
        keys = [_key(r) for r in self._db.rows(f"SELECT {_KEY_COLUMNS} FROM {{api_keys}}")]
        return sorted(keys, key=lambda k: (k["created_at"], k["key_id"]))

    def _revoke_api_key(self, key_id: str, at: datetime) -> None:
        self._db.write("UPDATE {api_keys} SET revoked_at = ? WHERE key_id = ?", at, key_id)
