"""Recall: the candidate sources' logic (pure functions) and the serving side the API calls.

Serving entry points (read the store through its interfaces, :mod:`store`):

* :class:`ListReader` -- recall lists cached by version, and a request's :class:`UserContext`;
* :func:`candidates` -- merged, de-duplicated candidate list for one user's context;
* :func:`similar` -- neighbours of one title;
* :func:`explain` -- a readable reason for each recommended title;
* :func:`candidates_for_user`, :func:`similar_titles` -- the same straight from a store (tools, tests).
"""
from __future__ import annotations

from recall.explain import explain
from recall.lists import ListReader, UserContext
from recall.serving import candidates, candidates_for_user, similar, similar_titles

__all__ = ["ListReader", "UserContext", "candidates", "explain", "candidates_for_user", "similar", "similar_titles"]
