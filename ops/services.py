"""Local launcher: each service of the stack as a background process under one run dir.

``Service`` is the small interface (start, stop, healthy); ``KafkaService`` and
``CassandraService`` run the jar-based servers, ``PythonService`` one of our own roles
(streaming job, batch scheduler, trainer, API), each one process. Every process gets its own session, a pid file and a log under
``<run_dir>/<name>/``, so ``stop`` can end the whole process group and leave nothing behind.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

import requests

from accounts import ensure_jwt_secret
from config import PROJECT_ROOT, Settings
from ingest.topics import broker_ready, ensure_topics
from jars import fetch
from streaming.status import job_is_running

CONF_DIR = Path(__file__).resolve().parent / "conf"

# Cassandra 5.0 on Java 17 needs these (from its conf/jvm17-server.options).
_JAVA17_CASSANDRA_FLAGS = [
    "-Djdk.attach.allowAttachSelf=true",
    *(f"--add-exports={m}=ALL-UNNAMED" for m in (
        "java.base/jdk.internal.misc", "java.base/jdk.internal.ref", "java.base/sun.nio.ch",
        "java.management.rmi/com.sun.jmx.remote.internal.rmi", "java.rmi/sun.rmi.registry",
        "java.rmi/sun.rmi.server", "java.sql/java.sql", "java.base/java.lang.ref",
        "jdk.unsupported/sun.misc")),
    *(f"--add-opens={m}=ALL-UNNAMED" for m in (
        "java.base/java.lang.module", "java.base/jdk.internal.loader", "java.base/jdk.internal.ref",
        "java.base/jdk.internal.reflect", "java.base/jdk.internal.math", "java.base/jdk.internal.module",
        "java.base/jdk.internal.util.jar", "jdk.management/com.sun.management.internal",
        "java.base/sun.nio.ch", "java.base/java.io", "java.base/java.nio", "java.base/java.util",
        "java.base/java.util.concurrent", "java.base/java.util.concurrent.atomic", "java.base/java.lang",
        "java.base/java.math", "java.base/java.lang.reflect", "java.base/java.net")),
]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _render(template: str, **values) -> str:
    return string.Template((CONF_DIR / template).read_text()).substitute(values)


def memtable_heap_mb(heap: str) -> int:
    """The memtables' share of a Cassandra heap (``1G``, ``512M``): three eighths. Trie memtables keep about
    400 B per partition on the heap even with cells off it, and a flush starts when a third of this pool is
    used, so the pool (not the off-heap one) sets how often the streaming job's tables flush and compact."""
    mb = int(heap[:-1]) * (1024 if heap.endswith("G") else 1)
    return mb * 3 // 8


class ServiceError(RuntimeError):
    """A service would not start: its port is taken, or it exited; the message says where to look."""


def run_stage(settings: Settings, module: str, *args: str) -> None:
    """Run one of our stages (``python -m module``) to completion with these settings; raise on failure."""
    env = {**os.environ, **settings.as_env(), "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run([sys.executable, "-m", module, *args], check=True, cwd=PROJECT_ROOT, env=env)


class Service(ABC):
    """One process of the stack."""

    name: str
    start_timeout_s: float = 120.0
    needs: tuple[str, ...] = ()   # services it cannot work without: not restarted while one of them is down

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = self.settings.run_dir / self.name
        self.pid_file = self.dir / "pid"
        self.hold_file = self.dir / "stopped"   # stopped on purpose: the supervisor leaves it stopped
        self.log_file = self.dir / f"{self.name}.log"

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def healthy(self) -> bool: ...

    def ports(self) -> list[int]:
        """Loopback ports the service listens on: refused to start if another process holds one."""
        return []

    def busy_ports(self) -> list[int]:
        """Those of :meth:`ports` another process holds (none while this service itself runs)."""
        if self.running():
            return []
        return [port for port in self.ports() if port_open("127.0.0.1", port)]

    def prepare(self) -> None:
        """Write config files and initialise storage before the first start."""

    def after_start(self) -> None:
        """Work that needs the service up (e.g. creating topics)."""

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.settings.as_env()}

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            _reap(pid)
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None

    def running(self) -> bool:
        return self.pid() is not None

    def held(self) -> bool:
        """Stopped by :meth:`stop` and not started since: not a crash, so not for the supervisor to undo."""
        return self.hold_file.exists()

    def start(self, wait: bool = True) -> None:
        try:
            if not self.running():
                self._launch()
        finally:
            # Only now, with the pid file written (or the start failed): the supervisor never sees a service
            # that is starting as neither held nor running, so never starts a second one beside it.
            self.hold_file.unlink(missing_ok=True)
        if wait:
            self.wait_healthy()

    def _launch(self) -> None:
        busy = self.busy_ports()
        if busy:
            raise ServiceError(f"{self.name}: port(s) {busy} already in use by another process; "
                               f"stop it or choose other ports (config/settings.py)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=PROJECT_ROOT, env=self.env(), start_new_session=True)
        self.pid_file.write_text(str(proc.pid))

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.healthy():
                self.after_start()
                return
            if not self.running():
                raise ServiceError(f"{self.name} exited during start; see {self.log_file}:\n{self.log_tail()}")
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not healthy after {self.start_timeout_s:.0f}s; see {self.log_file}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """End the process and everything it started; the role stays stopped (:meth:`held`) until started."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hold_file.touch()    # before the signal: once the process has gone, the supervisor sees why
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and _group_alive(pid):
                time.sleep(0.2)
            _signal_group(pid, signal.SIGKILL)
            # Some children make process groups of their own (pyspark's daemon does);
            # they stay in the session the service was started in.
            for member in session_members(pid):
                _kill(member)
            _reap(pid)
        if self.pid() in (None, pid):   # not a process started meanwhile: that one must stay findable
            self.pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def status(self) -> str:
        """``healthy``, ``starting/unhealthy``, ``stopped on purpose`` (:meth:`held`), ``down`` (gone without a
        stop: a crash) or ``not started`` (never, in this run dir)."""
        if self.running():
            return "healthy" if self.healthy() else "starting/unhealthy"
        if self.held():
            return "stopped on purpose"
        return "down" if self.dir.exists() else "not started"


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is a child of ours that has exited; else a zombie would look alive."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def session_members(sid: int) -> list[int]:
    """Pids of the processes in session ``sid`` (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after the command: state, ppid, pgrp, session
            members.append(int(stat.parent.name))
    return members


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class KafkaService(Service):
    name = "kafka"
    start_timeout_s = 90.0

    def ports(self) -> list[int]:
        return [self.settings.kafka.port, self.settings.kafka.controller_port]

    def prepare(self) -> None:
        s = self.settings
        props = self.dir / "server.properties"
        props.write_text(_render("kafka.properties.tmpl", port=s.kafka.port, controller_port=s.kafka.controller_port,
                                 listen_host="127.0.0.1", advertised_host="127.0.0.1", data_dir=self.dir / "data"))
        if not (self.dir / "data" / "meta.properties").exists():
            subprocess.run(self._java("kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()), "-c", str(props),
                                      "--ignore-formatted"), check=True, capture_output=True)

    def _java(self, main: str, *args: str) -> list[str]:
        return ["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", f"-Dlog4j.configuration=file:{CONF_DIR / 'log4j.properties'}",
                "-Dkafka.logs.dir=" + str(self.dir), "-cp", fetch.classpath(self.settings, "kafka"), main, *args]

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.dir / "server.properties"))

    def healthy(self) -> bool:
        if not port_open("127.0.0.1", self.settings.kafka.port):
            return False
        return broker_ready(self.settings)

    def after_start(self) -> None:
        ensure_topics(self.settings)


class CassandraService(Service):
    name = "cassandra"
    start_timeout_s = 180.0

    def ports(self) -> list[int]:
        s = self.settings
        return [s.cassandra.port, s.cassandra.storage_port, s.cassandra.jmx_port]

    def prepare(self) -> None:
        s = self.settings
        (self.dir / "cassandra.yaml").write_text(_render(
            "cassandra.yaml.tmpl", storage_port=s.cassandra.storage_port, native_port=s.cassandra.port,
            rpc_address="127.0.0.1", data_dir=self.dir / "data", memtable_heap_mb=memtable_heap_mb(s.cassandra.heap)))

    def command(self) -> list[str]:
        lib = fetch.fetch(self.settings, "cassandra")
        jamm = next(lib.glob("jamm-*.jar"))
        heap = self.settings.cassandra.heap
        return ["java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-Xss512k", f"-javaagent:{jamm}",
                *_JAVA17_CASSANDRA_FLAGS,
                f"-Dcassandra.config=file://{self.dir / 'cassandra.yaml'}",
                f"-Dcassandra.storagedir={self.dir / 'data'}", f"-Dcassandra.logdir={self.dir}",
                f"-Dlogback.configurationFile={CONF_DIR / 'logback.xml'}",
                "-Dcassandra-foreground=yes", f"-Dcassandra.jmx.local.port={self.settings.cassandra.jmx_port}",
                "-Dcassandra.skip_wait_for_gossip_to_settle=0", "-Dcassandra.superuser_setup_delay_ms=0",
                "-cp", fetch.classpath(self.settings, "cassandra"), "org.apache.cassandra.service.CassandraDaemon"]

    def healthy(self) -> bool:
        return port_open(self.settings.cassandra.contact_points[0], self.settings.cassandra.port)


class PythonService(Service):
    """One of animerec's own roles, run as ``python -m <module>``."""

    module: str
    args: tuple[str, ...] = ()

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]

    def healthy(self) -> bool:
        """Running is healthy, unless the role has a better probe."""
        return self.running()

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        return env


class StreamingService(PythonService):
    name = "streaming"
    module = "streaming"
    start_timeout_s = 180.0
    needs = ("kafka", "cassandra")   # without them Flink itself retries the job's tasks every few seconds

    def healthy(self) -> bool:
        return job_is_running(self.settings)


class SchedulerService(PythonService):
    name = "scheduler"
    module = "batch.scheduler"
    needs = ("cassandra",)


class TrainerService(PythonService):
    """Executes queued training requests (``POST /admin/train``), one at a time."""

    name = "trainer"
    module = "training"
    args = ("worker",)
    needs = ("cassandra",)


class SupervisorService(PythonService):
    """Restarts a crashed role (ops/supervisor.py); started last, stopped first."""

    name = "supervisor"
    module = "ops"
    args = ("supervise",)


class ApiService(PythonService):
    name = "api"
    start_timeout_s = 90.0

    @property
    def metrics_dir(self) -> Path:
        """Where the workers keep their Prometheus counters (multiprocess mode), emptied at each start."""
        return self.dir / "prometheus"

    def ports(self) -> list[int]:
        return [self.settings.api.port]

    def prepare(self) -> None:
        ensure_jwt_secret(self.settings)         # every worker signs and checks tokens with the same key
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)

    def env(self) -> dict[str, str]:
        # One BLAS/OpenMP thread per process: a request's matrices are small, and OpenBLAS's own threads spin after
        # each product (in-process, /recommends' computation took 46 ms of CPU for 32 ms of work with two threads,
        # 24 ms with one: docs/RESULTS.md). The request threads and the workers are the parallelism.
        return {**super().env(), "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir), "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def command(self) -> list[str]:
        s = self.settings
        return [sys.executable, "-m", "gunicorn", "-c", "python:api.gunicorn_conf", "--bind",
                f"{s.api.host}:{s.api.port}", "--workers", str(s.api.workers), "--threads", str(s.api.threads),
                "--worker-class", s.api.worker_class, "--timeout", "60", "api.wsgi:app"]

    def healthy(self) -> bool:
        """Answering /health: a 503 there (a dependency down) is the API's own state, not a reason to restart it."""
        return self.health_answer() is not None

    def health_answer(self) -> dict | None:
        """The API's /health answer (``status`` ok or degraded, ``down`` naming each dependency that is down),
        or None while it does not answer."""
        if not port_open(self.settings.api.host, self.settings.api.port):
            return None
        try:
            response = requests.get(self.settings.api_url + "/health", timeout=2)
        except requests.RequestException:
            return None
        if response.status_code not in (200, 503):
            return None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        answer["status"] = "degraded" if response.status_code == 503 else answer.get("status", "ok")
        return answer

    def status(self) -> str:
        """Never ``healthy`` while the API itself says a dependency is down: then ``degraded (kafka down)``."""
        if not self.running():
            return super().status()
        answer = self.health_answer()
        if answer is None:
            return "starting/unhealthy"
        down = answer.get("down") or []
        if answer.get("status") == "ok" and not down:
            return "healthy"
        return f"degraded ({', '.join(map(str, down))} down)" if down else "degraded"

