"""/talk conversations' last turns on Cassandra (a TTL keeps the table small)."""
from __future__ import annotations

import json
from collections.abc import Mapping

from config.registry import CONVERSATION_TTL_S
from store.cassandra.session import CassandraSession
from store.interfaces import ConversationStore, now_utc, utc


class CassandraConversations(ConversationStore):
    _db: CassandraSession

    def save_turn(self, conversation_id: str, user_id: int, turn: Mapping) -> None:
        self._db.write(f"INSERT INTO {{conversations}} (conversation_id, user_id, turn, updated_at) VALUES (?,?,?,?) "
                       f"USING TTL {int(CONVERSATION_TTL_S)}", conversation_id, user_id, json.dumps(turn), now_utc())

    def last_turn(self, conversation_id: str) -> dict | None:
        row = self._db.one("SELECT user_id, turn, updated_at FROM {conversations} WHERE conversation_id = ?",
                           conversation_id)
        if row is None:
            return None
        return {"user_id": row["user_id"], "turn": json.loads(row["turn"]), "updated_at": utc(row["updated_at"])}
