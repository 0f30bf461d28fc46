"""The anime catalog as arrays: item features for the ranker and the rows the API serves."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

TYPES = ("TV", "Movie", "OVA", "Special", "ONA", "Music")


@dataclass
class Catalog:
    frame: pd.DataFrame        # indexed by anime_id: name, genres, type, episodes, rating, members
    genres: tuple[str, ...]    # the catalog's genres, sorted
    genre_matrix: np.ndarray   # (n_items, n_genres) 0/1, rows aligned with frame
    position: dict[int, int]   # anime_id -> row

    @classmethod
    def from_rows(cls, rows: list[dict]) -> "Catalog":
        frame = pd.DataFrame(rows, columns=["anime_id", "name", "genres", "type", "episodes", "rating", "members"])
        frame["genres"] = frame["genres"].apply(lambda g: list(g) if g else [])
        frame = frame.sort_values("anime_id").set_index("anime_id")
        genres = tuple(sorted({g for gs in frame["genres"] for g in gs}))
        index = {g: i for i, g in enumerate(genres)}
        matrix = np.zeros((len(frame), len(genres)), dtype=np.float32)
        for row, gs in enumerate(frame["genres"]):
            matrix[row, [index[g] for g in gs]] = 1.0
        return cls(frame, genres, matrix, {int(a): i for i, a in enumerate(frame.index)})

    @classmethod
    def from_store(cls, store) -> "Catalog":
        return cls.from_rows(store.all_anime())

    def __contains__(self, anime_id: int) -> bool:
        return anime_id in self.position

    def __len__(self) -> int:
        return len(self.frame)

    def genres_of(self, anime_id: int) -> list[str]:
        """The title's genres; [] for a title the catalog does not have."""
        row = self.position.get(anime_id)
        return [] if row is None else list(self.frame["genres"].iat[row])

    def rows_of(self, anime_ids) -> np.ndarray:
        return np.fromiter((self.position[a] for a in anime_ids), dtype=np.int64, count=len(anime_ids))

    def details(self, anime_id: int) -> dict:
        row = self.frame.loc[anime_id]
        return {"anime_id": int(anime_id), "name": row["name"], "genres": row["genres"], "type": _none(row["type"]),
                "episodes": _int_or_none(row["episodes"]), "rating": _none(row["rating"]),
                "members": _int_or_none(row["members"])}

    def brief(self, anime_id: int) -> dict:
        """``{anime_id, name, type, genres}`` of a catalog title (a new dict each call)."""
        return dict(self._briefs[anime_id])

    @cached_property
    def episode_counts(self) -> dict[int, int | None]:
        """anime_id -> its number of episodes (None where the catalog does not say: an airing show)."""
        return {int(a): _int_or_none(e) for a, e in self.frame["episodes"].items()}

    @cached_property
    def _briefs(self) -> dict[int, dict]:
        f = self.frame
        return {int(a): {"anime_id": int(a), "name": name, "type": _none(kind), "genres": genres}
                for a, name, kind, genres in zip(f.index, f["name"], f["type"], f["genres"])}


def _none(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _int_or_none(value):
    value = _none(value)
    return None if value is None else int(value)
