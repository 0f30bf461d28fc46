"""The batch jobs' run history: one JSON line per run in ``<run_dir>/batch/runs.jsonl`` (the scheduler
writes it; the operator dashboard reads it). Nothing here needs Spark."""
from __future__ import annotations

import json
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

from config import Settings


def runs_file(settings: Settings) -> Path:
    return settings.run_dir / "batch" / "runs.jsonl"


def record(settings: Settings, job: str, ok: bool, started: float, seconds: float, details: dict,
           error: str | None) -> None:
    """Append one run (``started``: epoch seconds)."""
    path = runs_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps({"job": job, "ok": ok, "started": datetime.fromtimestamp(started, tz=timezone.utc)
                             .isoformat(), "seconds": round(seconds, 2), "details": details, "error": error},
                            default=str) + "\n")


def recent_runs(settings: Settings, limit: int = 50) -> list[dict]:
    """The last ``limit`` runs, newest first (a line that does not parse is skipped)."""
    try:
        with open(runs_file(settings)) as fh:
            lines = deque(fh, maxlen=limit)
    except FileNotFoundError:
        return []
    runs = []
    for line in reversed(lines):
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return runs
