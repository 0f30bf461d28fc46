"""Session fixtures: real Kafka, Cassandra, Flink, Spark, the ranker, and the API over HTTP."""
from __future__ import annotations

import time

import pytest
import requests

from ops import stack
from ops.services import ApiService, StreamingService, TrainerService
from tests.integration.services import real_services


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings():
    with real_services() as settings:
        yield settings


@pytest.fixture(scope="session")
def store(settings):
    from store import open_store
    store = open_store(settings, retries=10)
    yield store
    store.close()


@pytest.fixture(scope="session")
def prepared(settings):
    """Real catalog and ratings loaded, recall lists built, a ranker trained."""
    stack.prepare_data(settings)
    return settings


def _running(service):
    """A role of the stack for the whole session: started once, stopped at the end."""
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def streaming(settings):
    yield from _running(StreamingService(settings))


@pytest.fixture(scope="session")
def trainer(prepared):
    yield from _running(TrainerService(prepared))


@pytest.fixture(scope="session")
def api_url(prepared, streaming):
    for _ in _running(ApiService(prepared)):
        yield prepared.api_url


def wait_for(probe, timeout_s: float = 60.0, interval_s: float = 0.2, seen: list | None = None):
    """Poll ``probe`` until it returns something truthy; return that, or fail (naming the last few of
    ``seen``, where the probe records what it saw)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval_s)
    pytest.fail(f"condition not met within {timeout_s}s" + (f"; last seen: {seen[-3:]}" if seen else ""))


@pytest.fixture(scope="session")
def admin_key(prepared) -> str:
    """The test stack's admin key, made as ``make up`` makes it (run/test/secrets/admin-key)."""
    return stack.ensure_credentials(prepared).read_text().strip()


@pytest.fixture
def http(admin_key):
    """An HTTP session with the admin key (tests of credentials use plain requests)."""
    with requests.Session() as session:
        session.headers["X-API-Key"] = admin_key
        yield session


def stop_running_experiments(api_url: str, headers: dict) -> None:
    """Stop whatever experiment runs (one per surface), so a test can start its own."""
    for experiment in requests.get(f"{api_url}/experiments", headers=headers, timeout=30).json()["experiments"]:
        if experiment["state"] == "running":
            requests.post(f"{api_url}/experiments/{experiment['experiment_id']}/stop", headers=headers, timeout=30)
