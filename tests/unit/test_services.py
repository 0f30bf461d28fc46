import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from config import Settings
from ops.services import CassandraService, KafkaService, PythonService


def test_a_service_refuses_ports_another_process_holds(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = KafkaService(Settings(run_dir=tmp_path, kafka={"port": port, "controller_port": port + 1}))
        with pytest.raises(RuntimeError, match="already in use"):
            service.start()
        assert not service.running()


class Sleeper(PythonService):
    """A role whose process only sleeps."""
    name = "sleeper"

    def command(self) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(60)"]

    def healthy(self) -> bool:
        return self.running()


def test_a_stopped_role_is_held_until_it_is_started_again(tmp_path):
    role = Sleeper(Settings(run_dir=tmp_path))
    role.start()
    assert role.running() and not role.held()
    role.stop(timeout_s=5)
    assert not role.running() and role.held()
    role.start()
    try:
        assert role.running() and not role.held()
    finally:
        role.stop(timeout_s=5)


def test_a_stop_leaves_the_pid_file_of_a_process_started_meanwhile(tmp_path):
    """The supervisor may start a role while a slow stop of its last process is still waiting for it."""
    role = Sleeper(Settings(run_dir=tmp_path))
    role.start()
    old = role.pid()
    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        real_pid = role.pid

        def pid_then_replaced():
            pid = real_pid()
            role.pid_file.write_text(str(newer.pid))   # what a start during the stop writes
            return pid
        role.pid = pid_then_replaced
        role.stop(timeout_s=5)
        del role.pid
        assert old != newer.pid and role.pid() == newer.pid
    finally:
        newer.kill()
        newer.wait()


def test_a_role_stays_held_until_its_new_process_is_written_down(tmp_path):
    """Neither held nor running, a starting role looks crashed: the supervisor would start a second one."""
    seen = []

    class Watched(Sleeper):
        def prepare(self) -> None:               # between the start's first look and its pid file
            seen.append(self.held() or self.running())

    role = Watched(Settings(run_dir=tmp_path))
    role.stop(timeout_s=5)                       # held, as after make down
    role.start()
    try:
        assert seen == [True] and role.running() and not role.held()
    finally:
        role.stop(timeout_s=5)


def test_a_failed_start_lifts_the_hold_so_the_supervisor_tries_again(tmp_path):
    class Broken(Sleeper):
        def prepare(self) -> None:
            raise OSError("disk full")

    role = Broken(Settings(run_dir=tmp_path))
    role.stop(timeout_s=5)
    with pytest.raises(OSError):
        role.start()
    assert not role.held()


def test_a_status_tells_a_crash_from_a_stop(tmp_path):
    role = Sleeper(Settings(run_dir=tmp_path))
    assert role.status() == "not started"
    role.start()
    assert role.status() == "healthy"
    os.kill(role.pid(), signal.SIGKILL)          # kill -9: gone without a stop
    while role.running():
        time.sleep(0.05)
    assert role.status() == "down"
    role.start()
    role.stop(timeout_s=5)
    assert role.status() == "stopped on purpose"


@pytest.mark.parametrize("heap, pool", [("2G", "768MiB"), ("1G", "384MiB"), ("512M", "192MiB")])
def test_cassandra_memtable_heap_pool_follows_the_configured_heap(tmp_path, heap, pool):
    service = CassandraService(Settings(run_dir=tmp_path, cassandra={"heap": heap}))
    service.dir.mkdir(parents=True, exist_ok=True)
    service.prepare()
    assert f"\nmemtable_heap_space: {pool}\n" in (service.dir / "cassandra.yaml").read_text()
