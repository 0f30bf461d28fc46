"""The trainer role's loop: it takes queued requests in order and records how each ended."""
import threading

import pytest

from config import Settings
from training.runs import work


@pytest.fixture
def store():
    from store import MemoryStore
    return MemoryStore()


def test_worker_records_a_failed_run_and_carries_on(store, tmp_path):
    first = store.request_training("test", {})
    second = store.request_training("test", {})
    done = work(store, Settings(run_dir=tmp_path), threading.Event(), poll_s=0.01, max_runs=2)
    assert done == 2
    runs = {str(r["run_id"]): r for r in store.training_runs()}
    for run in (first, second):
        recorded = runs[str(run["run_id"])]
        assert recorded["state"] == "failed" and "nothing to train on" in recorded["error"]
    assert store.claim_training("another") is None


def test_worker_stops_when_asked_without_a_request(store, tmp_path):
    stop = threading.Event()
    stop.set()
    assert work(store, Settings(run_dir=tmp_path), stop, poll_s=0.01) == 0
