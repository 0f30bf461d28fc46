"""Storage: the only package that speaks CQL. ``open_store()`` is its entry point."""
from store.cassandra import CassandraStore, open_store

__all__ = ["CassandraStore", "open_store"]
