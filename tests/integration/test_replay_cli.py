"""``python -m ingest replay`` publishes a ratings file as a timestamped stream that the job stores once,
and a second run of the same file and seed adds nothing."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time

from ingest.frames import read_ratings
from ingest.replay import Clock, replay_events
from tests.integration.conftest import wait_for

USER = 6_000_000 + random.randrange(100_000)   # fresh users: nothing else counts their events
TITLES = (5114, 9253, 32281, 1535)


def _replay(settings, path, seed) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", "replay", "--ratings", str(path), "--seed", str(seed),
                           "--rate", "200", "--no-progress"], env={**os.environ, **settings.as_env()},
                          capture_output=True, text=True, timeout=120)


def test_a_replayed_file_lands_once_and_ends_before_now(settings, store, streaming, tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user_id,anime_id,rating\n" + "".join(f"{USER},{a},{9 - i}\n" for i, a in enumerate(TITLES)))
    seed = random.randrange(1_000, 1_000_000)
    started_ms = int(time.time() * 1000)
    expected = replay_events(read_ratings(path), Clock(seed=seed))   # the same seeded stream, in this process
    first = _replay(settings, path, seed)
    assert first.returncode == 0, first.stderr[-2000:]
    wait_for(lambda: all(store.get_event(USER, e) for e in expected["event_id"]), timeout_s=60)
    wait_for(lambda: (store.user_features(USER) or {}).get("events") == len(expected), timeout_s=30)
    last = store.user_features(USER)["last_event_at"]
    assert started_ms - 1_000 <= last <= int(time.time() * 1000)   # history that ends about now, not later

    again = _replay(settings, path, seed)
    assert again.returncode == 0, again.stderr[-2000:]
    time.sleep(5)   # the second run's events, had they counted, would be in by now
    assert store.user_features(USER)["events"] == len(expected)
