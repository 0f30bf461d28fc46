"""Where the streaming job reports its state, readable without Flink (the launcher and /health use it)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from config import Settings

STATUS_FRESH_S = 20.0


def status_file(settings: Settings) -> Path:
    return settings.run_dir / "streaming" / "job-status.json"


def write_status(settings: Settings, state: str, job_id: str) -> None:
    status_file(settings).write_text(json.dumps({"state": state, "at": time.time(), "job_id": job_id}))


def job_is_running(settings: Settings) -> bool:
    """True when the job reported RUNNING within the last few seconds."""
    try:
        status = json.loads(status_file(settings).read_text())
    except (FileNotFoundError, ValueError):
        return False
    return status.get("state") == "RUNNING" and time.time() - status.get("at", 0) < STATUS_FRESH_S
