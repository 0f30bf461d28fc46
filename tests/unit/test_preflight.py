"""``python -m ops up`` refuses what a person must fix first before it starts anything: one ``error:`` line
each, exit status 2, no traceback (issue 32). A later failure is one line naming the log that holds its traceback.

Every test starts from a machine that passes every check (``machine``; ``test_a_sound_machine_passes``
shows it does) and breaks one thing, so each fails for the reason its name gives.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result

from ops import cli, preflight, stack
from ops.services import ApiService, ServiceError

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"anime.csv": "anime_id,name,genre,type,episodes,rating,members\n1,A,Drama,TV,12,8.1,100\n",
           "rating_sample.csv": "user_id,anime_id,rating\n1,1,8\n",
           "anime_with_synopsis.csv": "MAL_ID,Name,Score,Genders,sypnopsis\n1,A,8.1,Drama,a story\n"}
PORT_VARIABLES = ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "CASSANDRA_PORT", "CASSANDRA_STORAGE_PORT",
                  "CASSANDRA_JMX_PORT", "API_PORT")
JAVA_17 = 'openjdk version "17.0.15" 2025-04-15'
GIB = 1024 ** 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tool(bin_dir: Path, name: str, says: str = "") -> None:
    """A stand-in program on PATH that writes ``says`` to stderr (as ``java -version`` does)."""
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho '{says}' >&2\n")
    path.chmod(0o755)


def _meminfo(path: Path, available_gib: float) -> Path:
    path.write_text(f"MemTotal:       {64 * 1024 ** 2} kB\nMemAvailable:   {int(available_gib * 1024 ** 2)} kB\n")
    return path


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """Data, free ports, Java 17, Maven and a JDK, node and npm, 16 GiB of memory and 50 GiB of disk; a stack
    whose steps record that they ran instead of starting anything."""
    data = tmp_path / "data"
    data.mkdir()
    for name, text in HEADERS.items():
        (data / name).write_text(text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "java", JAVA_17)
    for name in ("javac", "mvn", "node", "npm"):
        _tool(bin_dir, name)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("ANIMEREC_DATA_DIR", str(data))
    monkeypatch.setenv("ANIMEREC_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("ANIMEREC_CACHE_DIR", str(tmp_path / "cache"))          # no jars fetched: Maven needed
    monkeypatch.setenv("ANIMEREC_API_WEB_DIR", str(tmp_path / "web-not-built"))  # node needed
    for name in PORT_VARIABLES:   # not the defaults: a stack of this checkout may be running
        monkeypatch.setenv(f"ANIMEREC_{name}", str(_free_port()))
    monkeypatch.setattr(preflight, "MEMINFO", _meminfo(tmp_path / "meminfo", 16))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=100 * GIB, used=50 * GIB,
                                                                           free=50 * GIB))
    started: list[str] = []
    monkeypatch.setattr(stack, "start_infra", lambda settings: started.append("infra"))
    monkeypatch.setattr(stack, "prepare_data", lambda settings: started.append("data"))
    monkeypatch.setattr(stack, "ensure_credentials", lambda settings: tmp_path / "run" / "secrets" / "admin-key")
    monkeypatch.setattr(stack, "start_apps", lambda settings: started.append("apps"))
    return SimpleNamespace(data=data, bin=bin_dir, run=tmp_path / "run", tmp=tmp_path, started=started)


def up(*args: str) -> Result:
    return CliRunner().invoke(cli.main, ["up", *args])


def refused(result: Result, machine) -> str:
    """The one line ``up`` refused with, after checking it refused as the README says and started nothing."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception     # no uncaught exception
    assert machine.started == []
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_a_sound_machine_passes(machine):
    result = up()
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert machine.started == ["infra", "data", "apps"]


def test_a_missing_data_directory(machine, monkeypatch):
    monkeypatch.setenv("ANIMEREC_DATA_DIR", str(machine.tmp / "nowhere"))
    line = refused(up(), machine)
    assert f"data directory {machine.tmp / 'nowhere'} not found" in line
    assert "set ANIMEREC_DATA_DIR to the folder holding anime.csv, rating_sample.csv" in line


def test_no_data_is_needed_with_skip_data(machine, monkeypatch):
    monkeypatch.setenv("ANIMEREC_DATA_DIR", str(machine.tmp / "nowhere"))
    assert up("--skip-data").exit_code == 0
    assert machine.started == ["infra", "apps"]


def test_a_missing_data_file(machine):
    (machine.data / "rating_sample.csv").unlink()
    line = refused(up(), machine)
    assert f"data file {machine.data / 'rating_sample.csv'} not found" in line
    assert "ANIMEREC_DATA_DIR" in line


def test_a_data_file_whose_header_lacks_a_column(machine):
    (machine.data / "anime.csv").write_text("anime_id,name,genre,type,episodes,rating\n1,A,Drama,TV,12,8.1\n")
    line = refused(up(), machine)
    assert f"data file {machine.data / 'anime.csv'}" in line
    assert "lacks column(s) members" in line and "replace it" in line


@pytest.mark.parametrize("variable, service", [("API_PORT", "api"), ("KAFKA_PORT", "kafka"),
                                               ("CASSANDRA_PORT", "cassandra")])
def test_a_port_another_process_holds(machine, monkeypatch, variable, service):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv(f"ANIMEREC_{variable}", str(port))
        line = refused(up(), machine)
    assert f"port {port} ({service}) is in use by another process" in line
    assert f"ANIMEREC_{variable}" in line


def test_a_port_our_own_running_service_holds_is_not_a_problem(machine, monkeypatch):
    monkeypatch.setattr(ApiService, "running", lambda self: True)
    with socket.socket() as api:
        api.bind(("127.0.0.1", 0))
        api.listen()
        monkeypatch.setenv("ANIMEREC_API_PORT", str(api.getsockname()[1]))
        assert up().exit_code == 0
    assert machine.started == ["infra", "data", "apps"]


def test_java_not_on_path(machine):
    (machine.bin / "java").unlink()
    line = refused(up(), machine)
    assert "java not found on PATH: install Java 17" in line


def test_java_too_old(machine):
    _tool(machine.bin, "java", 'java version "1.8.0_392"')
    line = refused(up(), machine)
    assert "is Java 8; Java 17 or newer is needed" in line


def test_fetch_jars_without_java_says_so_first(machine):
    (machine.bin / "java").unlink()
    result = CliRunner().invoke(cli.main, ["fetch-jars"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "java not found on PATH" in result.stderr


def test_maven_not_on_path_while_the_jars_are_not_fetched(machine):
    (machine.bin / "mvn").unlink()
    line = refused(up(), machine)
    assert "mvn not found on PATH: install Maven" in line


def test_node_not_on_path_while_the_web_app_is_not_built(machine, monkeypatch):
    (machine.bin / "node").unlink()
    line = refused(up(), machine)
    assert "the web app is not built and node not found on PATH: install Node.js" in line
    built = machine.tmp / "web-built"
    built.mkdir()
    (built / "index.html").write_text("<html></html>")
    monkeypatch.setenv("ANIMEREC_API_WEB_DIR", str(built))
    assert up().exit_code == 0      # a built web app needs no node


def test_make_web_without_node_is_one_line(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "find").symlink_to(shutil.which("find"))   # the Makefile lists the web sources with it
    make = [shutil.which("make"), "-n", "-B", "-C", str(ROOT), "web"]     # -n: prints, runs nothing
    result = subprocess.run(make, capture_output=True, text=True, env={"PATH": str(bin_dir)})
    assert result.returncode != 0
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert "node and npm not found on PATH: install Node.js" in result.stderr
    for name in ("node", "npm"):
        _tool(bin_dir, name)
    assert subprocess.run(make, capture_output=True, env={"PATH": str(bin_dir)}).returncode == 0


def test_too_little_memory(machine, monkeypatch):
    monkeypatch.setattr(preflight, "MEMINFO", _meminfo(machine.tmp / "meminfo", 3.1))
    line = refused(up(), machine)
    assert f"only 3.1 GiB of memory available (MemAvailable); the stack needs about " \
           f"{preflight.MIN_MEMORY_GIB:.0f} GiB" in line


def test_too_little_disk(machine, monkeypatch):
    seen = []
    monkeypatch.setattr(shutil, "disk_usage", lambda path: seen.append(path) or SimpleNamespace(
        total=100 * GIB, used=98 * GIB, free=2 * GIB))
    line = refused(up(), machine)
    assert f"only 2.0 GiB free on the disk of {machine.run}" in line and "ANIMEREC_RUN_DIR" in line
    assert seen == [machine.tmp]     # the run directory does not exist yet: the disk it will be on


def test_every_problem_is_its_own_line(machine, monkeypatch):
    monkeypatch.setenv("ANIMEREC_DATA_DIR", str(machine.tmp / "nowhere"))
    (machine.bin / "java").unlink()
    result = up()
    assert result.exit_code == 2 and machine.started == []
    assert [line.split(" ")[1] for line in result.stderr.splitlines()] == ["data", "java"]


@pytest.mark.parametrize("failure, said", [
    # what a missing data directory did before the preflight: `python -m ingest load` exits 2
    (subprocess.CalledProcessError(2, [sys.executable, "-m", "ingest", "load"]),
     "`python -m ingest load` ended with exit status 2 (its own messages are above)"),
    (ServiceError("streaming exited during start; see run/streaming/streaming.log:\nits log's last lines"),
     "streaming exited during start; see run/streaming/streaming.log"),
])
def test_a_failure_after_the_checks_is_one_line_and_its_traceback_goes_to_the_log(machine, monkeypatch, failure,
                                                                                  said):
    def fails(settings):
        raise failure
    monkeypatch.setattr(stack, "prepare_data", fails)
    result = up()
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    log = machine.run / "up-errors.log"
    assert result.stderr.splitlines() == [f"error: {said}; details in {log}"]
    assert "Traceback" in log.read_text() and type(failure).__name__ in log.read_text()
    assert "Traceback" not in result.output
    assert machine.started == ["infra"]


def test_a_bug_is_not_hidden_in_the_log(machine, monkeypatch):
    def bug(settings):
        raise KeyError("a bug")
    monkeypatch.setattr(stack, "prepare_data", bug)
    result = up()
    assert isinstance(result.exception, KeyError)
    assert not (machine.run / "up-errors.log").exists()
