"""Storage behind small interfaces by concern (:mod:`store.interfaces`), with two backends:
Cassandra (:func:`open_store`, the only code that speaks CQL) and memory (:class:`MemoryStore`).

Callers type against the interfaces and handle one error, :class:`StoreUnavailable`,
whatever the backend.
"""
from store.cassandra import open_store
from store.errors import StoreUnavailable
from store.interfaces import (CatalogStore, EventStore, FeatureStore, ListStore, LoadManifest, RatingStore, Store,
                              TrainingQueue)
from store.memory import OFFLINE_VERSION, MemoryStore

__all__ = ["CatalogStore", "EventStore", "FeatureStore", "ListStore", "LoadManifest", "MemoryStore",
           "OFFLINE_VERSION", "RatingStore", "Store", "StoreUnavailable", "TrainingQueue", "open_store"]
