"""Versioned, atomically swapped batch outputs.

Every build writes a complete new version (the partition key carries it), then flips one
``list_versions`` row -- the pointer readers follow -- and finally drops old versions.

``popular`` has one pointer (``store.popular`` reads it). The shared tables have one pointer
per *source*, because the jobs that fill them run independently:

* ``user_candidates``: ``candidates:als``, ``candidates:itemitem``, ``candidates:content``;
* ``similar_items``: ``similar:cowatch``, ``similar:content``.

Cleanup must not delete a version that is still referenced or still being written by another
job, so besides the live pointer each build records ``<pointer>@previous`` (kept for readers
that resolved the old pointer a moment ago, and for rollback) and ``<pointer>@building``
(written before the first row, so a concurrent cleanup of another source spares it). A
version of a table is dropped when no pointer, previous or building marker of that table
references it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from config.registry import pointer
from store.interfaces import ListStore

log = logging.getLogger(__name__)

PREVIOUS = "@previous"
BUILDING = "@building"


def new_version() -> int:
    """Milliseconds since the epoch: unique per build and increasing."""
    return int(time.time() * 1000)


@dataclass
class Build:
    """One build of one pointer: ``begin`` -> write rows with ``version`` -> ``publish``."""

    store: ListStore
    list_name: str            # "popular" | "candidates" | "similar" (selects the table)
    source: str | None = None
    version: int = 0

    @property
    def name(self) -> str:
        return pointer(self.list_name, self.source)

    def begin(self) -> int:
        self.version = new_version()
        self.store.publish_version(self.name + BUILDING, self.version, 0)
        return self.version

    def publish(self, rows: int) -> int:
        """Flip the pointer to this build; then drop what nothing references any more."""
        previous = self.store.current_version(self.name)
        if previous is not None and previous != self.version:
            self.store.publish_version(self.name + PREVIOUS, previous, 0)
        self.store.publish_version(self.name, self.version, rows)
        return cleanup(self.store, self.list_name)


def referenced_versions(pointers: dict[str, int], list_name: str) -> set[int]:
    """Versions of ``list_name``'s table named by any pointer or marker of that table."""
    return {v for name, v in pointers.items()
            if name == list_name or name.startswith(list_name + ":") or name.startswith(list_name + "@")}


def cleanup(store: ListStore, list_name: str) -> int:
    """Delete the partitions of every unreferenced version of ``list_name``'s table."""
    keep = referenced_versions(store.list_versions(), list_name)
    if not keep:
        return 0
    dropped = store.drop_versions(list_name, keep)
    log.info("%s: dropped %d stale partitions (kept versions %s)", list_name, dropped, sorted(keep))
    return dropped
