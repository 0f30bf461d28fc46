"""Recall: the candidate sources' logic (pure functions) and the serving side the API calls.

Serving entry points (read the store through its interfaces, :mod:`store`):

* :func:`candidates_for_user` -- merged, de-duplicated candidate list for one user;
* :func:`similar_titles` -- neighbours of one title.
"""
from __future__ import annotations

from recall.serving import candidates_for_user, similar_titles

__all__ = ["candidates_for_user", "similar_titles"]
