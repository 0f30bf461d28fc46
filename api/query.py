"""In-memory queries over the cached catalog (GET /anime) and over one user's ratings (GET /user).

The catalog is small (about 12k titles), so ``GET /anime`` filters it in the API process
instead of in Cassandra: :class:`CatalogIndex` turns a :class:`ranking.catalog.Catalog` once
into numpy columns (episodes, rating, members as float64 with NaN for unknown, a type code,
a boolean genre matrix, case-folded names) plus the JSON item of every title. A request is
then a handful of vectorised comparisons, one gather through a precomputed sort order and a
slice: no per-request sorting and no per-row pandas access.

Semantics, shared by the route and its self-description:

* ``mt_*`` / ``lt_*`` are strict bounds (more than / less than). A title whose value is
  unknown (episodes "Unknown", no rating) never matches a bound on that value.
* ``genre`` may repeat; a title must have every genre named. ``type`` is one type. Genre and
  type names are matched case-insensitively; an unknown one is a 400 listing the valid values.
* ``q``: the name contains the text, case-insensitively.
* ``sort``: ``rating``, ``members``, ``name``, ``episodes`` or ``anime_id``, ``-`` for
  descending; unknown values sort last either way; ties go by anime id (stable paging).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from api.errors import ApiError

SORT_KEYS = ("rating", "members", "name", "episodes", "anime_id")
SORTS = tuple(s for key in SORT_KEYS for s in (key, f"-{key}"))
DEFAULT_SORT = "-members"


def invalid(field_name: str, message: str, **extra) -> ApiError:
    """A 400 shaped like the validation errors: names the parameter in ``error`` and ``details``."""
    return ApiError(400, f"invalid request: {field_name}", details=[{"field": field_name, "message": message}],
                    **extra)


def reject_repeated(args, model) -> None:
    """A parameter that takes one value given several times is a 400 (not silently the first one)."""
    for name in args.keys():
        info = model.model_fields.get(name)
        if info is not None and len(args.getlist(name)) > 1 and not _is_list(info.annotation):
            raise invalid(name, f"{name} takes one value; it was given {len(args.getlist(name))} times")


def _is_list(annotation) -> bool:
    return "list" in str(annotation)


def page_links(path: str, args, page: int, pages: int) -> dict:
    """Relative links to the next and previous pages, keeping every other parameter (repeats too)."""
    def link(p: int) -> str:
        pairs = [(k, v) for k, v in args.items(multi=True) if k != "page"] + [("page", str(p))]
        return f"{path}?{urlencode(pairs)}"
    return {"next": link(page + 1) if page < pages else None, "prev": link(page - 1) if 1 < page <= pages + 1 else None}


@dataclass(frozen=True)
class AnimeFilter:
    mt_episodes: float | None = None
    lt_episodes: float | None = None
    mt_rating: float | None = None
    lt_rating: float | None = None
    mt_members: float | None = None
    lt_members: float | None = None
    genres: tuple[str, ...] = ()
    type: str | None = None
    q: str | None = None


@dataclass
class Page:
    total: int
    page: int
    limit: int
    items: list[dict] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.total else 0


def _float_column(frame: pd.DataFrame, name: str, decimals: int | None = None) -> np.ndarray:
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    # Cassandra floats are float32: 7.1 comes back as 7.0999999; round so lt_rating=7.1 excludes it.
    return np.round(values, decimals) if decimals is not None else values


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class CatalogIndex:
    """Column arrays and precomputed orders of one Catalog; see the module docstring."""

    def __init__(self, catalog):
        frame = catalog.frame
        self.catalog = catalog
        self.size = len(frame)
        self.ids = frame.index.to_numpy(dtype=np.int64)
        self.episodes = _float_column(frame, "episodes")
        self.rating = _float_column(frame, "rating", decimals=2)
        self.members = _float_column(frame, "members")
        names = [str(n) for n in frame["name"].tolist()]
        self.folded = [n.casefold() for n in names]
        types = [None if _missing(t) else str(t) for t in frame["type"].tolist()]
        self.types = tuple(sorted({t for t in types if t}))
        self._type_lookup = {t.casefold(): i for i, t in enumerate(self.types)}
        self.type_codes = np.array([-1 if t is None else self._type_lookup[t.casefold()] for t in types],
                                   dtype=np.int16)
        self.genres = tuple(catalog.genres)
        self._genre_lookup = {g.casefold(): i for i, g in enumerate(self.genres)}
        self.genre_matrix = np.asarray(catalog.genre_matrix, dtype=bool)
        genre_lists = frame["genres"].tolist()
        self.items = [
            {"anime_id": int(a), "name": n, "genres": list(g), "type": t,
             "episodes": None if math.isnan(e) else int(e), "rating": None if math.isnan(r) else float(r),
             "members": None if math.isnan(m) else int(m)}
            for a, n, g, t, e, r, m in zip(self.ids.tolist(), names, genre_lists, types, self.episodes.tolist(),
                                           self.rating.tolist(), self.members.tolist())]
        self._orders: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    # --- vocabularies ---------------------------------------------------------------------
    def genre_column(self, value: str) -> int:
        hit = self._genre_lookup.get(value.strip().casefold())
        if hit is None:
            raise invalid("genre", f"unknown genre {value!r}", valid_values=list(self.genres))
        return hit

    def type_code(self, value: str) -> int:
        hit = self._type_lookup.get(value.strip().casefold())
        if hit is None:
            raise invalid("type", f"unknown type {value!r}", valid_values=list(self.types))
        return hit

    # --- filtering, ordering, paging --------------------------------------------------------
    def mask(self, f: AnimeFilter) -> np.ndarray:
        """Boolean row mask of the titles matching every given filter."""
        mask = np.ones(self.size, dtype=bool)
        for column, low, high in ((self.episodes, f.mt_episodes, f.lt_episodes),
                                  (self.rating, f.mt_rating, f.lt_rating),
                                  (self.members, f.mt_members, f.lt_members)):
            if low is not None:
                mask &= column > low      # NaN (unknown) compares False: excluded
            if high is not None:
                mask &= column < high
        if f.genres:
            columns = sorted({self.genre_column(g) for g in f.genres})
            mask &= self.genre_matrix[:, columns].all(axis=1)
        if f.type is not None:
            mask &= self.type_codes == self.type_code(f.type)
        if f.q:
            needle = f.q.strip().casefold()
            rows = np.flatnonzero(mask)
            folded = self.folded
            keep = np.fromiter((needle in folded[i] for i in rows.tolist()), dtype=bool, count=len(rows))
            mask[rows[~keep]] = False
        return mask

    def order(self, sort: str) -> np.ndarray:
        """Every row in ``sort`` order (computed once per sort key and direction)."""
        cached = self._orders.get(sort)
        if cached is not None:
            return cached
        if sort not in SORTS:
            raise invalid("sort", f"unknown sort {sort!r}", valid_values=list(SORTS))
        descending, key = sort.startswith("-"), sort.lstrip("-")
        if key == "name":
            ranks = np.empty(self.size, dtype=np.float64)
            ranks[sorted(range(self.size), key=self.folded.__getitem__)] = np.arange(self.size)
            values = ranks
        elif key == "anime_id":
            values = self.ids.astype(np.float64)
        else:
            values = getattr(self, key)
        unknown = np.isnan(values)
        keyed = np.where(unknown, 0.0, -values if descending else values)
        order = np.lexsort((self.ids, keyed, unknown))  # last key is primary: known first, then value, then id
        with self._lock:
            self._orders[sort] = order
        return order

    def query(self, f: AnimeFilter, sort: str = DEFAULT_SORT, page: int = 1, limit: int = 20) -> Page:
        mask = self.mask(f)
        order = self.order(sort)
        selected = order[mask[order]]
        start = (page - 1) * limit
        return Page(total=int(len(selected)), page=page, limit=limit,
                    items=[self.items[i] for i in selected[start:start + limit].tolist()])

    def item(self, anime_id: int) -> dict | None:
        row = self.catalog.position.get(int(anime_id))
        return None if row is None else self.items[row]


_cached: CatalogIndex | None = None
_cache_lock = threading.Lock()


def index_of(catalog) -> CatalogIndex:
    """The index of ``catalog``, built on first use and kept while the process serves that catalog."""
    global _cached
    current = _cached
    if current is not None and current.catalog is catalog:
        return current
    with _cache_lock:
        if _cached is None or _cached.catalog is not catalog:
            _cached = CatalogIndex(catalog)
        return _cached


# --- one user's ratings ---------------------------------------------------------------------

def filter_user_ratings(rows: list[dict], mt_rating: float | None, lt_rating: float | None) -> list[dict]:
    """Ratings strictly inside the bounds, best first (then by anime id).

    -1 means "watched without a score": it is not a rating, so any rating bound excludes it.
    """
    bounded = mt_rating is not None or lt_rating is not None
    kept = [r for r in rows
            if r["rating"] is not None
            and not (bounded and r["rating"] == -1)
            and (mt_rating is None or r["rating"] > mt_rating)
            and (lt_rating is None or r["rating"] < lt_rating)]
    kept.sort(key=lambda r: (-r["rating"], r["anime_id"]))
    return kept
