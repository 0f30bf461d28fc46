"""Training runs as queued work: the API asks, the trainer role executes, one at a time.

``POST /admin/train`` only records a request in the store's training queue
(:class:`store.TrainingQueue`); the trainer role (``python -m training worker``, started by
the launcher like every role) claims the oldest queued request -- atomically, so two trainers
never take the same one -- trains, registers the new version and records the outcome. No
web process ever forks a trainer, and ``make down`` ends a run in progress with its role.
"""
from __future__ import annotations

import collections
import logging
import os
import socket
import threading
import time

import pandas as pd

from config import Settings
from ingest.frames import read_catalog, read_ratings
from store import Store, StoreUnavailable
from training.train import summary, train

log = logging.getLogger("animerec.training")
POLL_S = 2.0


def inputs_from_store(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ratings and catalog (with synopses) as the batch jobs see them."""
    ratings = pd.DataFrame(store.all_ratings(), columns=["user_id", "anime_id", "rating"])
    catalog = pd.DataFrame(store.all_anime(with_synopsis=True),
                           columns=["anime_id", "name", "genres", "type", "episodes", "rating", "members", "synopsis"])
    catalog["genres"] = catalog["genres"].apply(lambda g: list(g) if g else [])
    return ratings, catalog


def inputs_from_files(settings: Settings, ratings_csv, anime_csv=None, synopsis_csv=None):
    return (read_ratings(ratings_csv),
            read_catalog(anime_csv or settings.anime_csv, synopsis_csv or settings.synopsis_csv))


class _Tail(logging.Handler):
    """The last lines a run logged, kept with its outcome."""

    def __init__(self, lines: int = 20):
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=lines)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def execute(store: Store, settings: Settings, run: dict) -> dict:
    """Train for one claimed request and record how it ended; never raises for a failed run."""
    tail = _Tail()
    tail.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(tail)
    try:
        log.info("training run %s (requested by %s)", run["run_id"], run.get("requested_by"))
        ratings, catalog = inputs_from_store(store)
        if ratings.empty or catalog.empty:
            raise ValueError("nothing to train on: load the catalog and ratings first (python -m ingest load)")
        result = train(ratings, catalog, settings)
        log.info(summary(result))
        store.finish_training(run["run_id"], "succeeded", result["version"], None, list(tail.lines))
        return {"state": "succeeded", "version": result["version"]}
    except StoreUnavailable:
        raise                      # the outcome cannot be recorded either; the worker retries later
    except Exception as exc:       # a failed run is recorded, and the trainer carries on
        log.exception("training run %s failed", run["run_id"])
        error = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"
        store.finish_training(run["run_id"], "failed", None, error, list(tail.lines))
        return {"state": "failed", "error": error}
    finally:
        logging.getLogger().removeHandler(tail)


def worker_name(host: str | None = None) -> str:
    return f"{host or socket.gethostname()}:{os.getpid()}"


def close_abandoned(store: Store, host: str | None = None) -> list[str]:
    """Record as failed the runs a trainer of this host left ``running`` (it was stopped or killed mid-run).

    Called when a trainer starts: one trainer runs per host, so a run still ``running`` under
    this host's name belongs to a trainer that is gone. Returns the run ids closed.
    """
    prefix = f"{host or socket.gethostname()}:"
    closed = []
    for run in store.training_runs(limit=100):
        if run["state"] == "running" and (run.get("worker") or "").startswith(prefix):
            if store.finish_training(run["run_id"], "failed", None, "the trainer stopped during this run",
                                     run.get("log_tail")):
                closed.append(str(run["run_id"]))
    return closed


def work(store: Store, settings: Settings, stop: threading.Event, poll_s: float = POLL_S,
         max_runs: int | None = None) -> int:
    """The trainer role's loop: claim, train, record; returns the number of runs when ``stop`` is set."""
    worker = worker_name()
    for run_id in close_abandoned(store):
        log.warning("training run %s was left running by a stopped trainer; recorded as failed", run_id)
    done = 0
    while not stop.is_set():
        try:
            run = store.claim_training(worker)
        except StoreUnavailable as exc:
            log.warning("training queue unavailable (%s); retrying", exc)
            run = None
        if run is None:
            stop.wait(poll_s)
            continue
        started = time.monotonic()
        outcome = execute(store, settings, run)
        done += 1
        log.info("training run %s %s in %.0f s", run["run_id"], outcome["state"], time.monotonic() - started)
        if max_runs is not None and done >= max_runs:
            break
    return done
