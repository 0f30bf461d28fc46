"""How the integration tests get real services.

1. A Docker daemon answers: Kafka and Cassandra in testcontainers.
2. Otherwise the local launcher (official jars from Maven Central) on test ports under run/test.
3. ANIMEREC_TEST_SERVICES=external: the services named by KAFKA_BOOTSTRAP_SERVERS and
   CASSANDRA_CONTACT_POINTS (e.g. real clusters).
Flink (PyFlink local cluster) and Spark (local[*]) always run locally.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

from config import PROJECT_ROOT, Settings

TEST_KEYSPACE = "animerec_test"


def docker_answers() -> bool:
    try:
        import docker
        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _base(run_dir=PROJECT_ROOT / "run" / "test", kafka=None, cassandra=None, api=None, **overrides) -> Settings:
    # ALS is covered by the batch job tests; ranker training leaves it out to keep the suite short.
    return Settings(run_dir=run_dir, kafka=kafka or {}, cassandra={"keyspace": TEST_KEYSPACE, **(cassandra or {})},
                    api={"port": 18000, **(api or {})}, ranker={"sources": ["ease", "itemitem", "content"],
                                                              "max_users": 300},
                    # every test signs in from one address: the login limit (a unit test hits it) is raised
                    security={"login_limit": "600 per minute"}, **overrides)


@contextlib.contextmanager
def local_launcher() -> Iterator[Settings]:
    from ops import stack
    base = int(os.environ.get("ANIMEREC_TEST_PORT_BASE", "19000"))  # two test runs on one host: two bases
    settings = _base(kafka={"bootstrap_servers": f"127.0.0.1:{base + 92}", "port": base + 92,
                            "controller_port": base + 93},
                     cassandra={"port": base + 42, "storage_port": base + 70, "jmx_port": base + 199, "heap": "768M"},
                     api={"port": base + 800}, run_dir=PROJECT_ROOT / "run" / f"test-{base}")
    stack.stop_all(settings, report=lambda m: None)  # leftovers of an interrupted run
    shutil.rmtree(settings.run_dir, ignore_errors=True)
    try:
        stack.start_infra(settings)
        yield settings
    finally:
        stack.stop_all(settings)


@contextlib.contextmanager
def containers() -> Iterator[Settings]:
    from ops import stack
    from testcontainers.cassandra import CassandraContainer
    from testcontainers.kafka import KafkaContainer
    with KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft() as kafka, \
            CassandraContainer("cassandra:5.0") as cassandra:
        host, port = cassandra.get_contact_points()[0]
        settings = _base(kafka={"bootstrap_servers": kafka.get_bootstrap_server()},
                         cassandra={"contact_points": [host], "port": port}, local_services=[])
        stack.start_infra(settings)
        yield settings


@contextlib.contextmanager
def external() -> Iterator[Settings]:
    from ops import stack
    missing = [v for v in ("KAFKA_BOOTSTRAP_SERVERS", "CASSANDRA_CONTACT_POINTS") if not os.environ.get(v)]
    if missing:
        raise RuntimeError(f"ANIMEREC_TEST_SERVICES=external needs {', '.join(missing)}")
    settings = _base(local_services=[])
    stack.start_infra(settings)
    yield settings


def real_services():
    choice = os.environ.get("ANIMEREC_TEST_SERVICES", "auto")
    if choice == "external":
        return external()
    if choice == "containers" or (choice == "auto" and docker_answers()):
        return containers()
    return local_launcher()
