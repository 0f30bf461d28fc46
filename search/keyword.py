"""Keyword search: BM25 over each title's name (counted three times), genres and synopsis (bm25s), names
matched despite typos for short queries (rapidfuzz), and a popularity prior that orders a franchise's
titles (members).

``score = bm25 / best bm25 of the query + fuzzy name similarity (0..1, short queries) + prior * popularity``
where ``popularity = log(1 + members) / log(1 + most members)`` and ``prior`` is larger for a short query
(a name, most likely: "Fullmetal" means the series people watch, not a 4-koma special) than for a
sentence. The weights were set on tests/data/search_queries.json (docs/RESULTS.md: hit@5 per kind).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import bm25s
import numpy as np
from rapidfuzz import fuzz, process, utils

from search.text import tokens

NAME_REPEAT = 3          # a name's words count three times in a title's document
SHORT_QUERY = 3          # a query of this many terms or fewer is looked up as a name, typos allowed
FUZZY_CUTOFF = 85        # rapidfuzz WRatio (0..100) a name needs to count as matched despite typos
FUZZY_CANDIDATES = 20
PRIOR_SHORT, PRIOR_LONG = 2.0, 0.3


@dataclass(frozen=True)
class _Fields:
    name: frozenset[str]
    genre: frozenset[str]
    synopsis: frozenset[str]


class KeywordIndex:
    """An in-memory index of catalog rows ``{anime_id, name, genres, members, synopsis?}``."""

    def __init__(self, ids: np.ndarray, names: list[str], fields: list[_Fields], popularity: np.ndarray,
                 retriever: bm25s.BM25 | None):
        self.ids, self.names, self.fields, self.popularity, self._bm25 = ids, names, fields, popularity, retriever
        self._position = {int(a): i for i, a in enumerate(ids)}

    @classmethod
    def build(cls, rows: Iterable[Mapping]) -> "KeywordIndex":
        rows = [r for r in rows if r.get("name")]
        ids = np.array([int(r["anime_id"]) for r in rows], dtype=np.int64)
        names = [str(r["name"]) for r in rows]
        fields, corpus = [], []
        for row, name in zip(rows, names):
            name_terms, genre_terms = tokens(name), tokens(" ".join(row.get("genres") or ()))
            synopsis_terms = tokens(row.get("synopsis") or "")
            fields.append(_Fields(frozenset(name_terms), frozenset(genre_terms), frozenset(synopsis_terms)))
            corpus.append(name_terms * NAME_REPEAT + genre_terms + synopsis_terms)
        retriever = None
        if corpus:
            retriever = bm25s.BM25()
            retriever.index(corpus, show_progress=False)
        members = np.array([float(r.get("members") or 0) for r in rows])
        popularity = np.log1p(members) / np.log1p(max(members.max(initial=0.0), 1.0))
        return cls(ids, names, fields, popularity, retriever)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int) -> list[dict]:
        """Up to ``k`` hits ``{anime_id, name, score, matched}``, best first; ``matched`` names the fields
        the query met: ``name``, ``genre``, ``synopsis``."""
        terms = tokens(query)
        if not terms or k <= 0 or self._bm25 is None:
            return []
        score = np.zeros(len(self.ids))
        words = self._bm25.get_scores(terms)
        if words.max(initial=0.0) > 0:
            score += words / words.max()
        fuzzy: dict[int, float] = {}
        if len(terms) <= SHORT_QUERY:
            for _, similarity, row in process.extract(" ".join(terms), self.names, scorer=fuzz.WRatio,
                                                      processor=utils.default_process, limit=FUZZY_CANDIDATES,
                                                      score_cutoff=FUZZY_CUTOFF):
                fuzzy[row] = similarity / 100.0
                score[row] += similarity / 100.0
        prior = PRIOR_SHORT if len(terms) <= SHORT_QUERY else PRIOR_LONG
        hit = score > 0
        score = np.where(hit, score + prior * self.popularity, 0.0)
        top = np.argsort(-score, kind="stable")[:k]
        wanted = set(terms)
        return [{"anime_id": int(self.ids[i]), "name": self.names[i], "score": round(float(score[i]), 4),
                 "matched": self._matched(i, wanted, i in fuzzy)} for i in top if hit[i]]

    def _matched(self, row: int, terms: set[str], fuzzy_name: bool) -> list[str]:
        fields = self.fields[row]
        return [name for name, met in (("name", fuzzy_name or bool(terms & fields.name)),
                                       ("genre", bool(terms & fields.genre)),
                                       ("synopsis", bool(terms & fields.synopsis))) if met]
