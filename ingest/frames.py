"""Whole CSV files as pandas frames, for in-memory work (training, evaluation, benchmarks).

Every reader goes through :func:`ingest.csv_rows.parse`, so a frame holds exactly the rows,
cleaned and validated by the same rules, that :mod:`ingest.catalog` would load into Cassandra:
ratings are -1 (watched, no score) or 1..10, names and synopses are HTML-unescaped, and so on.
Bad rows are left out and counted: each reader logs how many it rejected and why, and appends
the :class:`~ingest.csv_rows.ParseReport` to ``report_to`` when given one. A file that is not of
the format at all raises :class:`~ingest.csv_rows.FormatError` (a ``ValueError``).

Duplicates are resolved as the loaders resolve them: the last row of a key wins (a synopsis
row without text never replaces one with text).
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ingest.csv_rows import ANIME, RATINGS, SYNOPSIS, CsvFormat, CsvParser, ParseReport

log = logging.getLogger(__name__)

ANIME_COLUMNS = ("anime_id", "name", "genres", "type", "episodes", "rating", "members")
RATING_DTYPES = {"user_id": np.int32, "anime_id": np.int32, "rating": np.int16}

T = TypeVar("T")


def _read(source: Any, fmt: CsvFormat, collect: Callable[[CsvParser], T],
          report_to: list[ParseReport] | None) -> T:
    with CsvParser(source, fmt) as parser:
        result = collect(parser)
    report = parser.report
    if report.rows_rejected:
        log.warning("%s: rejected %d of %d %s row(s): %s", parser.name, report.rows_rejected, report.rows_read,
                    fmt.name, ", ".join(f"{code} {n}" for code, n in report.reasons.most_common()))
    if report_to is not None:
        report_to.append(report)
    return result


def _last_wins(frame: pd.DataFrame, key: list[str], what: str, source: Any) -> pd.DataFrame:
    kept = frame.drop_duplicates(key, keep="last", ignore_index=True)
    if len(kept) < len(frame):
        log.info("%s: %d duplicate %s row(s) replaced by a later row", source, len(frame) - len(kept), what)
    return kept


def read_anime(source: Path | Any, report_to: list[ParseReport] | None = None) -> pd.DataFrame:
    """The catalog: ``anime_id, name, genres, type, episodes, rating, members``, one row per title.

    ``genres`` is a list of strings or ``None``; ``type`` a string or ``None``; ``episodes``,
    ``rating`` and ``members`` are numbers, NaN where the file has none (or ``Unknown``).
    """
    frame = pd.DataFrame.from_records(_read(source, ANIME, list, report_to), columns=list(ANIME_COLUMNS))
    for column in ("episodes", "rating", "members"):
        frame[column] = pd.to_numeric(frame[column])
    frame["anime_id"] = frame["anime_id"].astype(np.int64)
    return _last_wins(frame, ["anime_id"], "title", source)


def read_synopses(source: Path | Any, report_to: list[ParseReport] | None = None) -> dict[int, str]:
    """``anime_id -> synopsis`` for the titles that have a real synopsis (placeholders dropped)."""
    return _read(source, SYNOPSIS, lambda rows: {a: text for a, text in rows if text}, report_to)


def read_catalog(anime_csv: Path, synopsis_csv: Path | None = None,
                 report_to: list[ParseReport] | None = None) -> pd.DataFrame:
    """:func:`read_anime` plus a ``synopsis`` column (NaN where none), the shape the content job reads.

    Without ``synopsis_csv``, or when that file does not exist, no title has a synopsis.
    """
    anime = read_anime(anime_csv, report_to)
    synopses: dict[int, str] = {}
    if synopsis_csv is not None:
        if Path(synopsis_csv).exists():
            synopses = read_synopses(synopsis_csv, report_to)
        else:
            log.warning("%s: no such file; the catalog has no synopses", synopsis_csv)
    return anime.assign(synopsis=anime["anime_id"].map(synopses))


def read_ratings(source: Path | Any, report_to: list[ParseReport] | None = None) -> pd.DataFrame:
    """Ratings: ``user_id, anime_id`` (int32) and ``rating`` (int16: -1 or 1..10), one row per pair.

    The rows are streamed from the parser straight into one array (no per-row Python objects are
    kept); a (user, anime) pair listed again is replaced by its last row.
    """
    flat = _read(source, RATINGS, lambda rows: np.fromiter(itertools.chain.from_iterable(rows), np.int64),
                 report_to)
    triples = flat.reshape(-1, 3)
    frame = pd.DataFrame({column: triples[:, i].astype(dtype)
                          for i, (column, dtype) in enumerate(RATING_DTYPES.items())})
    return _last_wins(frame, ["user_id", "anime_id"], "(user, anime)", source)
