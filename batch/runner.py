"""Run batch jobs: one SparkSession and one store per process, a lock per job, a log line per run."""
from __future__ import annotations

import fcntl
import importlib
import logging
import os
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from batch import runlog
from batch.spark import spark_session
from config import Settings
from config.registry import JOBS
from store import open_store

log = logging.getLogger("batch")

JOB_MODULES = {job: f"batch.{job}" for job in JOBS}


class JobBusy(RuntimeError):
    """Another process is running the same job."""


@dataclass
class JobResult:
    job: str
    ok: bool
    seconds: float
    details: dict = field(default_factory=dict)
    error: str | None = None


def lock_path(settings: Settings, job: str) -> Path:
    return settings.run_dir / "batch" / f"{job}.lock"


@contextmanager
def job_lock(settings: Settings, job: str):
    """Exclusive, non-blocking lock on ``<run_dir>/batch/<job>.lock``; the OS frees it if we die."""
    path = lock_path(settings, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobBusy(f"{job} is already running (lock {path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


class Context:
    """Lazily opened SparkSession and store shared by the jobs of one process."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._spark = None
        self._store = None

    @property
    def spark(self):
        if self._spark is None:
            self._spark = spark_session(self.settings)
        return self._spark

    @property
    def store(self):
        if self._store is None:
            self._store = open_store(self.settings, retries=5)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._spark is not None:
            self._spark.stop()
            self._spark = None


def run_job(ctx: Context, job: str) -> JobResult:
    """Run one job under its lock; never raises for a failed run (the result says so)."""
    start = time.monotonic()
    try:
        with job_lock(ctx.settings, job):
            module = importlib.import_module(JOB_MODULES[job])
            details = module.run(ctx.spark, ctx.store, ctx.settings)
        result = JobResult(job, True, time.monotonic() - start, details)
        log.info("job %s ok in %.1f s: %s", job, result.seconds,
                 ", ".join(f"{k}={v}" for k, v in details.items()))
    except JobBusy as exc:
        result = JobResult(job, False, time.monotonic() - start, error=str(exc))
        log.warning("job %s skipped: %s", job, exc)
    except Exception as exc:  # a failed run is logged and reported, the caller carries on
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]   # Py4J errors carry whole JVM traces
        result = JobResult(job, False, time.monotonic() - start, error=f"{type(exc).__name__}: {first_line}")
        log.error("job %s FAILED after %.1f s: %s\n%s", job, result.seconds, result.error, traceback.format_exc())
    return result


def run_jobs(settings: Settings, jobs: list[str], ctx: Context | None = None) -> list[JobResult]:
    """Run ``jobs`` in order, each recorded in the run history (:mod:`batch.runlog`)."""
    own = ctx is None
    ctx = ctx or Context(settings)
    try:
        results = []
        for job in jobs:
            started = time.time()
            result = run_job(ctx, job)
            runlog.record(settings, result.job, result.ok, started, result.seconds, result.details, result.error)
            results.append(result)
        return results
    finally:
        if own:
            ctx.close()
