"""Background training runs started from the API: one at a time, across every API process.

A run is ``python -m ranking.train`` in its own process session; its pid, log and exit code
live under ``<run_dir>/training/``. An exclusive file lock makes "is one running? else start
one" atomic between gunicorn workers.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from infra.config import Settings
from infra.config import PROJECT_ROOT
from infra.services import Service


class TrainingBusy(RuntimeError):
    """A training run is already going on."""


class TrainingRun(Service):
    name = "training"
    module = "ranking.train"

    def command(self) -> list[str]:
        import sys
        # the exit code is recorded by the shell around the run, so status() can report it later
        return ["/bin/sh", "-c", f'"{sys.executable}" -m {self.module}; echo $? > "{self.dir / "exit_code"}"']

    def env(self) -> dict[str, str]:
        return {**super().env(), "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}

    def healthy(self) -> bool:
        return self.running()


class TrainingRuns:
    def __init__(self, settings: Settings):
        self.run = TrainingRun(settings)

    @contextmanager
    def _lock(self):
        self.run.dir.mkdir(parents=True, exist_ok=True)
        with open(self.run.dir / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def start(self) -> dict:
        with self._lock():
            if self.run.running():
                raise TrainingBusy(f"a training run is in progress (pid {self.run.pid()})")
            (self.run.dir / "exit_code").unlink(missing_ok=True)
            self.run.log_file.unlink(missing_ok=True)
            (self.run.dir / "started_at").write_text(str(time.time()))
            self.run.start(wait=False)
            return self.status()

    def status(self) -> dict:
        exit_file, started_file = self.run.dir / "exit_code", self.run.dir / "started_at"
        if exit_file.exists():  # written by the run's last step
            state = "succeeded" if exit_file.read_text().strip() == "0" else "failed"
        elif self.run.running():
            state = "running"
        else:
            state = "idle" if not started_file.exists() else "failed"
        return {"state": state, "pid": self.run.pid(),
                "started_at": float(started_file.read_text()) if started_file.exists() else None,
                "log_tail": self.run.log_tail(10).splitlines()}


def latest_evaluation(settings: Settings) -> dict | None:
    path = Path(settings.evaluation_dir) / "metrics.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    return {"file": str(path), "written_at": os.path.getmtime(path), **report}
