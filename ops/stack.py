"""The whole stack in order: infrastructure, data, application roles. Used by the CLI and the tests."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from accounts import KeyRing, create_key, write_private
from config import Settings, registry
from ingest.topics import ensure_topics
from jars import fetch
from ops.services import (ApiService, CassandraService, KafkaService, SchedulerService, Service,
                          StreamingService, SupervisorService, TrainerService, run_stage)
from ranking.registry import ModelRegistry
from search.packaged import ModelDirError, model_version
from store import open_store

Report = Callable[[str], None]


def _print(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def infra_services(settings: Settings) -> list[Service]:
    chosen = {"kafka": KafkaService, "cassandra": CassandraService}
    return [chosen[name](settings) for name in ("cassandra", "kafka") if name in settings.local_services]


def role_services(settings: Settings) -> list[Service]:
    """Our roles, the supervisor's own aside."""
    return [StreamingService(settings), SchedulerService(settings), TrainerService(settings), ApiService(settings)]


def supervised_services(settings: Settings) -> list[Service]:
    """What the supervisor starts again when it crashes: the local infrastructure first (roles need it), the roles."""
    return [*infra_services(settings), *role_services(settings)]


def app_services(settings: Settings) -> list[Service]:
    """Our roles in start order; the supervisor last, so ``stop_all`` ends it before the services it watches."""
    return [*role_services(settings), SupervisorService(settings)]


def all_services(settings: Settings) -> list[Service]:
    return [*infra_services(settings), *app_services(settings)]


def start_infra(settings: Settings, report: Report = _print) -> None:
    """Start local Kafka and Cassandra (those in settings.local_services), then topics and schema."""
    fetch.fetch_all(settings)
    services = infra_services(settings)
    for service in services:  # start all, then wait: Cassandra's long boot overlaps Kafka's
        report(f"starting {service.name}")
        service.start(wait=False)
    for service in services:
        service.wait_healthy()
        report(f"{service.name} healthy")
    ensure_topics(settings)
    open_store(settings, retries=30, migrate=True).close()
    report("topics and schema ready")


def prepare_data(settings: Settings, report: Report = _print) -> None:
    """Load the data, build the recall lists, train a ranker: each only where not done already."""
    report(f"loading catalog and ratings from {settings.data_dir} (unchanged files are skipped)")
    run_stage(settings, "ingest", "load")
    store = open_store(settings)
    try:
        if store.current_version(registry.SOURCE[registry.POPULAR_SOURCE].pointer) is None:
            report("building recall lists (Spark) and title embeddings")
            run_stage(settings, "batch", "run")
        else:   # a stack built before a list or the embeddings existed gets just those
            missing = [s.job for s in registry.RECALL_SOURCES
                       if s.kind == "user" and store.current_version(s.pointer) is None]
            missing += [] if _embedded(settings, store) else ["embeddings"]
            if missing:
                report(f"building what this stack lacks: {', '.join(missing)}")
                run_stage(settings, "batch", "run", *missing)
    finally:
        store.close()
    if ModelRegistry(settings).active() is None:
        report("training the ranker (TensorFlow)")
        run_stage(settings, "training", "run")


def _embedded(settings: Settings, store) -> bool:
    """Whether the stored title embeddings are the configured model's (a stack built before semantic search,
    or a new model, has none)."""
    try:
        version = model_version(settings.search.embedding_model_dir)
    except ModelDirError:
        return True      # nothing to embed with: the API says semantic search is unavailable and why
    return len(store.embeddings(version, registry.EMBEDDED_FIELDS[0])) > 0


def ensure_credentials(settings: Settings, report: Report = _print) -> Path:
    """A first admin key, made on first run (and again if the store lost the key); its plaintext is kept in
    ``<run_dir>/secrets/admin-key`` (0600). Returns that path. (The API role makes the JWT signing key.)"""
    path = settings.admin_key_file
    store = open_store(settings, retries=10)
    try:
        if path.exists() and KeyRing(store, ttl_s=0).check(path.read_text().strip()) is not None:
            return path
        plaintext, key = create_key(store, "admin", "first admin key (make up)")
    finally:
        store.close()
    write_private(path, plaintext)
    report(f"created admin API key {key.key_id}: {path} (mode 0600)")
    return path


def start_apps(settings: Settings, report: Report = _print, services: list[Service] | None = None) -> None:
    for service in services or app_services(settings):
        report(f"starting {service.name}")
        service.start()


def stop_all(settings: Settings, report: Report = _print) -> None:
    for service in [*reversed(app_services(settings)), *reversed(infra_services(settings))]:
        if service.running():
            report(f"stopping {service.name}")
        service.stop()
