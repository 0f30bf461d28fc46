"""The Cassandra backend of the store interfaces (the only package that speaks CQL).

``schema`` holds the tables; ``session`` the driver session and the translation of its errors;
``catalog``, ``ratings``, ``events``, ``lists`` and ``runs`` one concern each; ``store`` composes
them into :class:`CassandraStore` and opens it (:func:`open_store`).
"""
from store.cassandra.store import CassandraStore, open_store

__all__ = ["CassandraStore", "open_store"]
