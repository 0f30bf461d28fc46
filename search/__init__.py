"""Search over the catalog: titles found by their words (names, genres, synopses), typo-tolerant for names.

:class:`KeywordIndex` is built in memory from the catalog rows (12k titles index in about a second) and
answers a query in a few milliseconds. :func:`understand` reads a request in plain words (/talk). Semantic search (sentence embeddings) and the hybrid of the two
are to come; their measurements so far are in docs/RESULTS.md.
"""
from __future__ import annotations

from search.keyword import KeywordIndex
from search.talk import Understood, understand
from search.text import tokens

__all__ = ["KeywordIndex", "Understood", "tokens", "understand"]
