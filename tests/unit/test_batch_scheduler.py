"""Scheduler and job lock, without Spark or Cassandra (the job runner is faked)."""
import threading
from datetime import datetime, timezone

import pytest

from batch.runner import JobBusy, JobResult, job_lock, run_job
from batch.scheduler import Schedule, serve
from config import Settings


@pytest.fixture()
def settings(tmp_path):
    return Settings(run_dir=tmp_path)


def test_schedule_interval_and_cron():
    assert Schedule("600").next_after(1000.0) == 1600.0
    t = datetime(2024, 1, 1, 10, 7, tzinfo=timezone.utc).timestamp()
    assert Schedule("*/15 * * * *").next_after(t) == datetime(2024, 1, 1, 10, 15, tzinfo=timezone.utc).timestamp()
    for bad in ("0", "every hour", "* * *"):
        with pytest.raises(ValueError):
            Schedule(bad)


def test_job_lock_is_exclusive_and_released(settings):
    with job_lock(settings, "als"):
        with pytest.raises(JobBusy):
            with job_lock(settings, "als"):
                pass
        with job_lock(settings, "content"):     # other jobs are independent
            pass
    with job_lock(settings, "als"):             # released
        pass


class FakeClock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self):
        return self.t


def test_serve_runs_on_schedule_and_survives_failures(settings, monkeypatch):
    clock = FakeClock()
    stop = threading.Event()
    monkeypatch.setattr(stop, "wait", lambda seconds: setattr(clock, "t", clock.t + seconds))
    calls = []

    def runner(ctx, job):
        calls.append((job, clock.t))
        clock.t += 5
        if job == "als" and len(calls) == 2:
            return JobResult(job, False, 5.0, error="boom")
        return JobResult(job, True, 5.0, {"rows": 3})

    results = serve(["popularity", "als"], {"popularity": Schedule("60"), "als": Schedule("100")}, settings, stop,
                    runner=runner, clock=clock, max_runs=6)
    start = 1_000_000.0
    # als fails on its first run and is still rescheduled; a run's slot counts from its start
    assert calls == [("popularity", start), ("als", start + 5), ("popularity", start + 60),
                     ("als", start + 105), ("popularity", start + 120), ("popularity", start + 180)]
    assert [r.ok for r in results] == [True, False, True, True, True, True]
    history = (settings.run_dir / "batch" / "runs.jsonl").read_text().splitlines()
    assert len(history) == 6 and '"error": "boom"' in history[1]


def test_run_job_reports_failures_and_busy_locks(settings, monkeypatch):
    import sys
    import types

    from batch import runner as runner_mod

    module = types.ModuleType("fake_job")
    module.run = lambda spark, store, s: 1 / 0
    monkeypatch.setitem(sys.modules, "fake_job", module)
    monkeypatch.setitem(runner_mod.JOB_MODULES, "popularity", "fake_job")

    class Ctx:
        spark = store = None

    Ctx.settings = settings
    result = run_job(Ctx(), "popularity")
    assert not result.ok and "ZeroDivisionError" in result.error
    with job_lock(settings, "popularity"):
        result = run_job(Ctx(), "popularity")
    assert not result.ok and "already running" in result.error
