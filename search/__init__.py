"""Search over the catalog: titles found by their words (names, genres, synopses), typo-tolerant for names.

:class:`KeywordIndex` is built in memory from the catalog rows (12k titles index in about a second) and
answers a query in a few milliseconds. :class:`SemanticIndex` compares a query's sentence embedding
(:mod:`search.encoder`, a packaged all-MiniLM-L6-v2 run in TensorFlow) with the titles' stored ones (FAISS);
:class:`Searcher` answers keyword, semantic or hybrid (reciprocal-rank fusion) queries. :func:`understand`
reads a request in plain words (/talk). Measurements: docs/RESULTS.md. The semantic modules (encoder,
semantic) bring TensorFlow and are imported by their own names; the rest of the package is light.
"""
from __future__ import annotations

from search.keyword import KeywordIndex
from search.searcher import Searcher, SemanticUnavailable
from search.talk import Understood, understand
from search.text import tokens

__all__ = ["KeywordIndex", "Searcher", "SemanticUnavailable", "Understood", "tokens", "understand"]
