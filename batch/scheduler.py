"""``python -m batch.scheduler``: run the batch jobs forever on an interval or a cron schedule.

Each job's schedule is ``settings.batch.schedule_for(job)`` (``ANIMEREC_BATCH_SCHEDULE_<JOB>``,
else ``ANIMEREC_BATCH_SCHEDULE``, default ``3600``): a number of seconds between run starts, or
a five-field cron expression (``"*/15 * * * *"``; croniter). ``ANIMEREC_BATCH_JOBS`` picks the
jobs. The first run of each job is one interval after start-up: ``make up`` has just built
every list, so running them again at once would only compete with serving for the cores;
``ANIMEREC_BATCH_RUN_AT_START=true`` runs every job once on start-up instead.

A job never runs twice at once: a run takes ``<run_dir>/batch/<job>.lock`` (also taken by
``python -m batch run``), and a run that finds it held is skipped until the next slot. A
failed run is logged with its traceback and the scheduler carries on; every run's outcome,
duration and row counts go to the log and to ``<run_dir>/batch/runs.jsonl``. Jobs due at the
same time share one SparkSession, which is stopped between runs so the idle scheduler holds
no JVM. SIGTERM/SIGINT stop it (a run in progress is abandoned; its partial version is never
published and is cleaned up by that job's next build).
"""
from __future__ import annotations

import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from croniter import croniter

from batch import runlog
from batch.runner import Context, JobResult, run_job
from config import Settings, load_settings

log = logging.getLogger("batch.scheduler")


class Schedule:
    """Seconds between starts (``"3600"``) or a cron expression (``"0 */2 * * *"``)."""

    def __init__(self, spec: str):
        self.spec = spec.strip()
        if re.fullmatch(r"\d+(\.\d*)?", self.spec):
            self.interval: float | None = float(self.spec)
            if self.interval <= 0:
                raise ValueError(f"schedule interval must be positive: {spec!r}")
        else:
            if not croniter.is_valid(self.spec):
                raise ValueError(f"not a number of seconds nor a cron expression: {spec!r}")
            self.interval = None

    def next_after(self, t: float) -> float:
        if self.interval is not None:
            return t + self.interval
        return croniter(self.spec, datetime.fromtimestamp(t, tz=timezone.utc)).get_next(float)

    def __repr__(self) -> str:
        return f"every {self.interval:g} s" if self.interval is not None else f"cron {self.spec!r}"


def serve(jobs: list[str], schedules: dict[str, Schedule], settings: Settings, stop: threading.Event,
          run_at_start: bool = True, runner: Callable[[Context, str], JobResult] = run_job,
          clock: Callable[[], float] = time.time, max_runs: int | None = None) -> list[JobResult]:
    """The scheduling loop; returns when ``stop`` is set (or after ``max_runs`` runs, for tests)."""
    now = clock()
    due = {job: now if run_at_start else schedules[job].next_after(now) for job in jobs}
    results: list[JobResult] = []
    for job in jobs:
        log.info("scheduler: %s %s, next run %s", job, schedules[job],
                 datetime.fromtimestamp(due[job], tz=timezone.utc).isoformat(timespec="seconds"))
    while not stop.is_set():
        wait = min(due.values()) - clock()
        if wait > 0:
            stop.wait(wait)
            continue
        ctx = Context(settings)
        try:
            for job in [j for j in jobs if due[j] <= clock()]:
                if stop.is_set():
                    break
                started = clock()
                result = runner(ctx, job)
                results.append(result)
                runlog.record(settings, result.job, result.ok, started, result.seconds, result.details,
                              result.error)
                due[job] = schedules[job].next_after(started)
                if due[job] <= clock():          # the run overran its next slot: skip the missed ones
                    due[job] = schedules[job].next_after(clock())
                log.info("scheduler: %s next at %s", job,
                         datetime.fromtimestamp(due[job], tz=timezone.utc).isoformat(timespec="seconds"))
                if max_runs is not None and len(results) >= max_runs:
                    stop.set()
        finally:
            ctx.close()
    return results


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    jobs = settings.batch.jobs
    schedules = {job: Schedule(settings.batch.schedule_for(job)) for job in jobs}
    run_at_start = settings.batch.run_at_start
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("scheduler: signal %d, stopping", signum)
        stop.set()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        serve(jobs, schedules, settings, stop, run_at_start=run_at_start)
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
