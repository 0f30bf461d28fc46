"""The one error callers of the store catch.

A backend translates every failure that means "the store is down or too slow right now"
(no reachable node, a timeout, an unavailable or overloaded replica, a lost connection)
into :class:`StoreUnavailable`, so callers never import a driver to handle an outage and
can tell it from a bug (an invalid query still raises whatever the backend raises).
"""
from __future__ import annotations


class StoreUnavailable(RuntimeError):
    """The store cannot serve the request now; retrying later may succeed (writes are upserts)."""
