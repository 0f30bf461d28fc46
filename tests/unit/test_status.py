"""``make status`` (``python -m ops status``) names what is down and never calls the API healthy while the API's
own /health says a dependency is gone; the last line is ``all healthy`` or ``degraded:`` and the list.

No service runs: a sleeping child process stands in for a service's process (its pid file), a listening
socket for Cassandra's port, and a small HTTP server on a free port for the API's /health.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from config import load_settings
from ops import cli, stack
from ops.services import ApiService, CassandraService, KafkaService
from ops.supervisor import restarts_file

PORT_VARIABLES = ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "CASSANDRA_PORT", "CASSANDRA_STORAGE_PORT",
                  "CASSANDRA_JMX_PORT")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Health(BaseHTTPRequestHandler):
    """Answers GET /health with the server's ``answer``: (status code, JSON body)."""

    def do_GET(self):
        code, body = self.server.answer
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stack_dir(tmp_path, monkeypatch):
    """Settings on free ports under a temporary run dir, an API /health to answer as told, and a stand-in
    process whose pid a service's pid file can name."""
    server = HTTPServer(("127.0.0.1", 0), Health)
    server.answer = (200, {"status": "ok", "down": [], "dependencies": {}})
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    monkeypatch.setenv("ANIMEREC_RUN_DIR", str(tmp_path / "run"))
    for name in PORT_VARIABLES:   # not the defaults: a stack of this checkout may be running
        monkeypatch.setenv(f"ANIMEREC_{name}", str(_free_port()))
    monkeypatch.setenv("ANIMEREC_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + str(_free_port()))
    monkeypatch.setenv("ANIMEREC_API_PORT", str(server.server_address[1]))
    monkeypatch.setenv("ANIMEREC_API_HOST", "127.0.0.1")
    # The services make status looks at: both local infrastructure services and the API.
    monkeypatch.setattr(stack, "all_services", lambda s: [*stack.infra_services(s), ApiService(s)])
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    cassandra_port = socket.socket()
    try:
        yield SimpleNamespace(settings=load_settings(), server=server, pid=process.pid, cassandra_port=cassandra_port)
    finally:
        cassandra_port.close()
        process.kill()
        process.wait()
        server.shutdown()
        server.server_close()


def _runs(service, pid: int) -> None:
    service.dir.mkdir(parents=True, exist_ok=True)
    service.pid_file.write_text(str(pid))


def _cassandra_up(stack_dir) -> None:
    _runs(CassandraService(stack_dir.settings), stack_dir.pid)
    stack_dir.cassandra_port.bind(("127.0.0.1", stack_dir.settings.cassandra.port))
    stack_dir.cassandra_port.listen()


def status():
    result = CliRunner().invoke(cli.main, ["status"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.splitlines()
    return result.exit_code, {line.split()[0]: line for line in lines[:-1]}, lines[-1]


@pytest.mark.parametrize("code, body, state", [
    (200, {"status": "ok", "down": [], "dependencies": {"kafka": "up"}}, "healthy"),
    (503, {"status": "degraded", "down": ["kafka", "streaming"], "dependencies": {"kafka": "down"}},
     "degraded (kafka, streaming down)"),
    (503, {}, "degraded"),                       # whatever its body, a 503 is not healthy
    (500, {}, "starting/unhealthy"),             # not an answer of its own /health
])
def test_the_api_is_healthy_only_when_its_own_health_says_every_dependency_is_up(stack_dir, code, body, state):
    api = ApiService(stack_dir.settings)
    _runs(api, stack_dir.pid)
    stack_dir.server.answer = (code, body)
    assert api.status() == state
    assert api.healthy() == (code in (200, 503))       # a degraded API answers: not the supervisor's to restart


def test_status_names_a_down_kafka_and_says_degraded(stack_dir):
    """kill -9 of the broker: its process gone without a stop; the API's /health answers 503."""
    _cassandra_up(stack_dir)
    kafka = KafkaService(stack_dir.settings)
    _runs(kafka, 999_999_999)                    # the pid file of a process that is gone
    _runs(ApiService(stack_dir.settings), stack_dir.pid)
    stack_dir.server.answer = (503, {"status": "degraded", "down": ["kafka"],
                                     "dependencies": {"kafka": "down", "cassandra": "up", "streaming": "up"}})
    code, lines, summary = status()
    assert lines["cassandra"].split()[1] == "healthy"
    assert lines["kafka"].split()[1] == "down"
    assert "degraded (kafka down)" in lines["api"] and "healthy" not in lines["api"]
    assert summary == "degraded: kafka down, api degraded (kafka down)"
    assert code == 1


def test_status_says_all_healthy_when_every_service_is(stack_dir, monkeypatch):
    monkeypatch.setenv("ANIMEREC_LOCAL_SERVICES", "cassandra")       # Kafka on another host: not listed
    _cassandra_up(stack_dir)
    _runs(ApiService(stack_dir.settings), stack_dir.pid)
    code, lines, summary = status()
    assert list(lines) == ["cassandra", "api"] and all(line.split()[1] == "healthy" for line in lines.values())
    assert summary == "all healthy" and code == 0


def test_status_names_a_service_stopped_on_purpose_and_one_the_supervisor_is_restarting(stack_dir):
    _cassandra_up(stack_dir)
    kafka, api = KafkaService(stack_dir.settings), ApiService(stack_dir.settings)
    kafka.stop()                                 # make down, or a benchmark: its hold, no process
    _runs(api, stack_dir.pid)                    # started again by the supervisor, not answering yet
    stack_dir.server.shutdown()
    stack_dir.server.server_close()
    restarts_file(stack_dir.settings).parent.mkdir(parents=True)
    restarts_file(stack_dir.settings).write_text(json.dumps({"api": {
        "restarts": 3, "last_restart": "2026-12-01T10:00:00+00:00", "last_reason": "its process exited",
        "starting_pid": stack_dir.pid}}))
    code, lines, summary = status()
    assert "stopped on purpose" in lines["kafka"]
    assert lines["api"].split()[1] == "restarting" and "restarts=3" in lines["api"]
    assert summary == "degraded: kafka stopped on purpose, api restarting"
    assert code == 1
