"""The in-memory backend of the store interfaces (offline work and tests)."""
from store.memory.store import OFFLINE_VERSION, MemoryStore

__all__ = ["MemoryStore", "OFFLINE_VERSION"]
