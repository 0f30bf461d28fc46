"""The latest evaluation report's figures (``<evaluation_dir>/metrics.json``), for the admin API."""
from __future__ import annotations

import json
import os
from pathlib import Path

from config import Settings


def latest_evaluation(settings: Settings) -> dict | None:
    path = settings.evaluation_dir / "metrics.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    return {"file": str(path), "written_at": os.path.getmtime(path), **report}


def evaluation_plots(settings: Settings) -> dict[str, Path]:
    """The PNG plots beside the latest evaluation report, by file name."""
    folder = settings.evaluation_dir
    return {p.name: p for p in sorted(folder.glob("*.png"))} if folder.exists() else {}
