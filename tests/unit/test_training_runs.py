"""The trainer role's loop: it takes queued requests in order and records how each ended."""
import threading

import pytest

from config import Settings
from training.runs import close_abandoned, work, worker_name


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


def test_a_run_left_running_by_a_stopped_trainer_is_closed_when_a_trainer_starts(store):
    mine = store.request_training("test", {})
    store.claim_training(worker_name("host-a").replace(":", ":1", 1))    # a trainer of host-a that is gone
    other = store.request_training("test", {})
    store.claim_training("host-b:7")                                      # another host's trainer, still busy
    assert close_abandoned(store, host="host-a") == [str(mine["run_id"])]
    states = {str(r["run_id"]): r["state"] for r in store.training_runs()}
    assert states == {str(mine["run_id"]): "failed", str(other["run_id"]): "running"}
