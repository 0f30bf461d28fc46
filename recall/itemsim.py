"""Item-item similarity from co-watching, and scoring users through any item-item similarity.

Co-watch similarity of titles i and j, with ``c_ij`` users who watched both and ``n_i`` who
watched i (every rating row, -1 included, is a watch):

    sim(i, j) = c_ij / sqrt(n_i * n_j)  *  c_ij / (c_ij + shrinkage)

-- cosine on binary watch vectors, shrunk towards 0 when the evidence is a handful of users
(two obscure titles seen by the same two people get cosine 1 but deserve little weight).
Pairs with fewer than ``min_common`` co-watchers are dropped. Everything is computed in blocks
of titles (``X_block^T X`` as a dense block, :func:`cowatch_block`), so memory stays
``block x n_items``; the batch job spreads the blocks over Spark's workers.

Users are scored through a similarity matrix ``S`` (co-watch or content, top neighbours per
title): ``score(u, j) = sum_i strength(u, i) * S[i, j]`` over the user's history, minus what
they have already seen.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from recall.topk import topk_rows


def interaction_matrix(user_idx, item_idx, values, n_users: int, n_items: int) -> sp.csr_matrix:
    """Users x items CSR (duplicates summed)."""
    m = sp.csr_matrix((np.asarray(values, dtype=np.float32), (np.asarray(user_idx), np.asarray(item_idx))),
                      shape=(n_users, n_items))
    m.sum_duplicates()
    return m


def watch_matrix(user_ids, anime_ids) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Who watched what: ``(watched, users, items)`` from parallel arrays of rating rows.

    ``watched`` is a binary float32 users x items CSR (a pair listed twice is one watch);
    row ``r`` is user ``users[r]``, column ``c`` title ``items[c]``; both id arrays sorted.
    """
    users, rows = np.unique(np.asarray(user_ids), return_inverse=True)
    items, cols = np.unique(np.asarray(anime_ids), return_inverse=True)
    watched = interaction_matrix(rows, cols, np.ones(len(rows)), len(users), len(items))
    watched.data[:] = 1.0
    return watched, users, items


def weighted_matrix(user_ids, anime_ids, values) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """As :func:`watch_matrix`, with each watch's value (a pair listed twice: the values summed)."""
    users, rows = np.unique(np.asarray(user_ids), return_inverse=True)
    items, cols = np.unique(np.asarray(anime_ids), return_inverse=True)
    return interaction_matrix(rows, cols, values, len(users), len(items)), users, items


class CowatchOperands(NamedTuple):
    """What every block of the co-watch computation reads (the job broadcasts it once)."""

    watched: sp.csr_matrix       # binary users x items
    watched_t: sp.csr_matrix     # its transpose, as CSR (rows = titles)
    counts: np.ndarray           # watchers per title


def cowatch_operands(watched: sp.csr_matrix) -> CowatchOperands:
    return CowatchOperands(watched, watched.T.tocsr(), np.asarray(watched.sum(axis=0)).ravel())


def cowatch_block(operands: CowatchOperands, items: np.ndarray, k: int, shrinkage: float = 20.0,
                  min_common: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` co-watch neighbours of the titles (column indices) ``items``.

    Returns flat ``(item, neighbour, score)`` arrays, each item's best first.
    """
    watched, watched_t, counts = operands
    common = (watched_t[items] @ watched).toarray().astype(np.float64)   # c_ij for the block
    denom = np.sqrt(np.outer(counts[items], counts))
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = common / denom * (common / (common + shrinkage))
    sim[common < min_common] = 0.0
    sim[np.arange(len(items)), items] = 0.0          # never your own neighbour
    rows, cols, vals = topk_rows(sim, k, min_score=0.0)
    return items[rows], cols, vals


def blocks(n_items: int, size: int) -> list[np.ndarray]:
    return [np.arange(s, min(s + size, n_items)) for s in range(0, n_items, size)]


def similarity_matrix(src, dst, score, n_items: int) -> sp.csr_matrix:
    """Items x items CSR from neighbour triples."""
    return sp.csr_matrix((np.asarray(score, dtype=np.float32), (np.asarray(src), np.asarray(dst))),
                         shape=(n_items, n_items))


def score_users(history: sp.csr_matrix, similarity: sp.csr_matrix, k: int, block: int = 1024
                ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Top-``k`` unseen titles per user (row of ``history``: strengths) through ``similarity``.

    Yields flat ``(user_row, item, score)`` per block of users, best first within a user.
    """
    for rows in blocks(history.shape[0], block):
        h = history[rows]
        scores = (h @ similarity).toarray().astype(np.float64)
        r, c, v = topk_rows(scores, k, exclude=h, min_score=0.0)
        yield rows[r], c, v
