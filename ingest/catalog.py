"""Bulk loaders: the catalog, synopsis and ratings CSV files into Cassandra, through the store.

``load(store, dataset, source)`` streams one file (a path, an upload stream, any iterable of
lines: see :mod:`ingest.csv_rows`) into the store in batches of ``batch_rows`` rows and returns
a :class:`LoadResult` with the counts, the rejected rows (line and reason) and the timing.

Guarantees:

* Streaming: one batch of rows in memory at a time, whatever the file size.
* Duplicates: a later row for the same key (anime id; user and anime id) wins. Batches are
  written one after the other, each only after the previous one has been acknowledged, and no
  key repeats within a batch, so the last row of the file is the last write.
* Idempotent: every write is an upsert of values that depend only on the file, so loading a
  file again leaves the same rows. A file whose sha256 equals that of the dataset's latest
  complete load is not read again at all unless ``force=True``.
* No half-load that looks complete: each attempt is recorded in the ``load_runs`` manifest as
  ``running`` before the first batch and becomes ``complete`` (with file name, sha256, counts
  and ``completed_at``) only after the last batch succeeded; a crash leaves ``running`` (or
  ``failed``). Readers that need a whole dataset check :func:`last_complete_load`.
* Synopses are only set on titles already in the catalog (an ``UPDATE`` would otherwise
  create catalog rows with nothing but a synopsis), so load the catalog first.
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ingest.csv_rows import FORMATS, CsvParser, FormatError, ParseReport, Rejection, file_sha256
from store import StoreUnavailable

DATASETS = ("anime", "synopsis", "ratings")  # the order a full load runs in
DEFAULT_BATCH_ROWS = 5_000
RETRY_BACKOFF_S = 0.5  # doubled on each retry of a failed batch

__all__ = ["DATASETS", "FormatError", "LoadResult", "load", "load_many", "load_status", "last_complete_load"]


@dataclass
class LoadResult:
    dataset: str
    file_name: str
    status: str                       # complete | skipped | failed | unusable | checked (dry run)
    report: ParseReport | None = None
    rows_loaded: int = 0              # distinct rows written
    rows_skipped: int = 0             # valid rows with nothing to write (see ``skipped``)
    skipped: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0               # valid rows overridden by a later row of the same batch
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sha256: str | None = None
    run_id: uuid.UUID | None = None
    error: str | None = None

    @property
    def rows_read(self) -> int:
        return self.report.rows_read if self.report else 0

    @property
    def rows_rejected(self) -> int:
        return self.report.rows_rejected if self.report else 0

    @property
    def rejections(self) -> list[Rejection]:
        return self.report.rejections if self.report else []

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """The file was usable and everything valid in it is in the store."""
        return self.status in ("complete", "skipped", "checked")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _is_path(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike))


def last_complete_load(store, dataset: str) -> dict | None:
    """The newest load of ``dataset`` that finished, or ``None``."""
    return next((r for r in store.load_runs(dataset, limit=50) if r["status"] == "complete"), None)


def load_status(store, limit: int = 5) -> dict[str, list[dict]]:
    """Recent load attempts per dataset, newest first."""
    return {d: store.load_runs(d, limit=limit) for d in DATASETS}


# --- per-dataset batch writers ------------------------------------------------------------------

class _Writer:
    """Collects parsed records into batches (last row per key wins) and writes each batch."""

    def __init__(self, store, result: LoadResult, started_at: datetime):
        self.store, self.result, self.started_at = store, result, started_at
        self.pending: dict = {}
        self.rows_in_batch = 0

    def add(self, record) -> None:
        raise NotImplementedError

    def write(self, items: list) -> int:
        raise NotImplementedError

    def skip(self, why: str) -> None:
        self.result.rows_skipped += 1
        self.result.skipped[why] = self.result.skipped.get(why, 0) + 1

    def flush(self, retries: int) -> None:
        if self.rows_in_batch == 0:
            return
        self.result.duplicates += self.rows_in_batch - len(self.pending)
        items = list(self.pending.items())
        self.pending, self.rows_in_batch = {}, 0
        for attempt in range(retries + 1):
            try:
                self.write(items)
                break
            except StoreUnavailable:  # every write is an idempotent upsert: retrying is safe
                if attempt == retries:
                    raise
                time.sleep(RETRY_BACKOFF_S * 2 ** attempt)
        self.result.rows_loaded += len(items)


class _AnimeWriter(_Writer):
    def add(self, row: dict) -> None:
        self.pending[row["anime_id"]] = row
        self.rows_in_batch += 1

    def write(self, items: list) -> int:
        return self.store.upsert_anime(row for _, row in items)


class _SynopsisWriter(_Writer):
    def __init__(self, store, result, started_at):
        super().__init__(store, result, started_at)
        self.known = store.anime_ids()
        if not self.known:
            result.warnings.append("the catalog is empty: load it before the synopses (no synopsis was stored)")

    def add(self, pair: tuple[int, str | None]) -> None:
        anime_id, text = pair
        if text is None:
            self.skip("no synopsis text (empty or placeholder)")
        elif anime_id not in self.known:
            self.skip("title not in the catalog")
        else:
            self.pending[anime_id] = text
            self.rows_in_batch += 1

    def write(self, items: list) -> int:
        return self.store.set_synopses(items)


class _RatingsWriter(_Writer):
    def __init__(self, store, result, started_at):
        super().__init__(store, result, started_at)
        self.known = store.anime_ids()
        self.unknown = 0

    def add(self, rating: tuple[int, int, int]) -> None:
        u, a, r = rating
        self.pending[(u, a)] = r
        self.rows_in_batch += 1
        if self.known and a not in self.known:
            self.unknown += 1

    def write(self, items: list) -> int:
        # updated_at is the load's start, the same for every row of one load.
        return self.store.upsert_ratings_batched(((u, a, r) for (u, a), r in items), updated_at=self.started_at)


_WRITERS = {"anime": _AnimeWriter, "synopsis": _SynopsisWriter, "ratings": _RatingsWriter}


# --- the loader -----------------------------------------------------------------------------------

def load(store, dataset: str, source: Any, *, name: str | None = None, batch_rows: int = DEFAULT_BATCH_ROWS,
         force: bool = False, dry_run: bool = False, keep_rejections: int = 100, retries: int = 3,
         progress: Callable[[ParseReport], None] | None = None) -> LoadResult:
    """Load one file of ``dataset`` ("anime", "synopsis" or "ratings") from ``source``.

    Raises :class:`FormatError` when the source is not of that format at all (missing, empty,
    wrong header); nothing is written then. Bad rows are reported in the result, not raised.
    With ``dry_run`` the file is only parsed and checked (``store`` may be ``None``).
    ``progress`` is called with the parse report after every batch.
    """
    if dataset not in FORMATS:
        raise ValueError(f"unknown dataset {dataset!r}; one of {', '.join(DATASETS)}")
    t0 = time.perf_counter()
    file_name = name or (str(Path(source).resolve()) if _is_path(source) else str(getattr(source, "name", "<stream>")))
    result = LoadResult(dataset, file_name, status="running")

    if _is_path(source) and Path(source).is_file():
        result.sha256 = file_sha256(source)  # a cheap first pass: lets an unchanged file be skipped
        if not dry_run and not force:
            last = next(iter(store.load_runs(dataset, limit=1)), None)
            if last and last["status"] == "complete" and last["sha256"] == result.sha256:
                result.status = "skipped"
                result.run_id = last["run_id"]
                result.warnings.append(f"already loaded (same sha256) at {last['completed_at']:%Y-%m-%d %H:%M:%S} UTC "
                                       f"by run {last['run_id']}; use --force to load it again")
                result.seconds = time.perf_counter() - t0
                return result

    parser = CsvParser(source, dataset, keep_rejections=keep_rejections, name=file_name)  # FormatError here
    result.report = parser.report
    started_at = _now()
    run: dict[str, Any] = {}
    if not dry_run:
        result.run_id = uuid.uuid1()
        run = {"dataset": dataset, "run_id": result.run_id, "file_name": file_name, "sha256": result.sha256,
               "status": "running", "started_at": started_at}
        store.record_load_run(run)
    try:
        with parser:
            if dry_run:
                for _ in parser:
                    if progress and parser.report.rows_read % batch_rows == 0:
                        progress(parser.report)
            else:
                writer = _WRITERS[dataset](store, result, started_at)
                for record in parser:
                    writer.add(record)
                    if writer.rows_in_batch >= batch_rows:
                        writer.flush(retries)
                        if progress:
                            progress(parser.report)
                writer.flush(retries)
                if isinstance(writer, _RatingsWriter) and writer.unknown:
                    result.warnings.append(f"{writer.unknown} rating(s) name titles that are not in the catalog")
            if parser.report.rows_read and not parser.report.rows_ok:
                result.warnings.append("no row of the file is valid")
        if progress:
            progress(parser.report)
    except BaseException as exc:
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - t0
        if not dry_run:
            _record_end(store, run, result, completed=False)
        raise

    report = parser.report
    if result.sha256 and report.sha256 and report.sha256 != result.sha256:
        result.warnings.append("the file changed while it was being loaded (sha256 differs); load it again")
    result.sha256 = report.sha256 or result.sha256
    result.seconds = time.perf_counter() - t0
    if dry_run:
        result.status = "checked"
    else:
        result.status = "complete"
        _record_end(store, run, result, completed=True)
    return result


def _record_end(store, run: dict, result: LoadResult, completed: bool) -> None:
    run = dict(run, status="complete" if completed else "failed", sha256=result.sha256,
               rows_read=result.rows_read, rows_loaded=result.rows_loaded, rows_rejected=result.rows_rejected,
               rows_skipped=result.rows_skipped, seconds=result.seconds,
               completed_at=_now() if completed else None, error=result.error)
    try:
        store.record_load_run(run)
    except Exception:
        if completed:
            raise  # without the record the load must not count as complete
        # A failed load stays 'running' in the manifest: still not complete.


def load_many(store, sources: dict[str, Any], *, on_start: Callable[[str, Any], None] | None = None,
              **kw) -> list[LoadResult]:
    """Load several datasets in dependency order (catalog, synopses, ratings).

    An unusable file gives a result with status ``unusable`` (and the reason in ``error``) and
    the other files are still loaded.
    """
    results = []
    for dataset in DATASETS:
        if dataset not in sources:
            continue
        source = sources[dataset]
        if on_start:
            on_start(dataset, source)
        try:
            results.append(load(store, dataset, source, **kw))
        except FormatError as exc:
            name = str(source) if _is_path(source) else str(getattr(source, "name", "<stream>"))
            results.append(LoadResult(dataset, name, status="unusable", error=str(exc)))
    return results

