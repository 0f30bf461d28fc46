"""The supervisor starts a crashed service (a role, local Kafka or Cassandra) again, with doubling back-off,
counts it, leaves healthy and held services alone, and restarts a role only once the services it needs are up."""
from __future__ import annotations

import pytest

from config import Settings
from ops import stack
from ops.supervisor import Supervisor, read_restarts


class Role:
    """A service whose process runs or has exited; ``start`` brings it back unless ``fails``. What happens to
    it is appended to ``events`` (shared between services to see the order)."""

    def __init__(self, name: str, running: bool = True, healthy: bool = True, fails: bool = False,
                 held: bool = False, needs: tuple[str, ...] = (), events: list | None = None):
        self.name, self._running, self._healthy, self.fails, self._held = name, running, healthy, fails, held
        self.needs, self.events = needs, events if events is not None else []
        self.starts = self.stops = self.after_starts = 0
        self.after_start_fails = False

    def running(self) -> bool:
        return self._running

    def pid(self) -> int | None:
        return 4242 if self._running else None

    def after_start(self) -> None:
        self.after_starts += 1
        if self.after_start_fails:
            raise RuntimeError("NoBrokersAvailable")
        self.events.append(f"after_start {self.name}")

    def healthy(self) -> bool:
        return self._healthy

    def held(self) -> bool:
        return self._held

    def stop(self) -> None:
        self.stops += 1
        self._running = False

    def start(self, wait: bool = True) -> None:
        self.starts += 1
        self.events.append(f"start {self.name}")
        if self.fails:
            raise RuntimeError("port busy")
        self._running = True


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path):
    return Settings(run_dir=tmp_path)


def test_a_role_whose_process_exited_is_started_again_and_counted(settings):
    crashed, fine = Role("scheduler", running=False), Role("trainer")
    supervisor = Supervisor(settings, [crashed, fine], clock=Clock())
    assert supervisor.check_once() == ["scheduler"]
    assert crashed.starts == 1 and fine.starts == 0 and fine.stops == 0
    saved = read_restarts(settings)
    assert saved["scheduler"]["restarts"] == 1 and "exited" in saved["scheduler"]["last_reason"]
    assert saved["trainer"]["restarts"] == 0


def test_a_role_stopped_on_purpose_is_left_stopped_until_started_again(settings):
    """A benchmark stops the streaming job to build a backlog: starting it behind its back ran two jobs."""
    stopped = Role("streaming", running=False, held=True)
    supervisor = Supervisor(settings, [stopped], clock=Clock())
    assert supervisor.check_once() == [] and stopped.starts == 0
    stopped._held = False      # started, then crashed
    assert supervisor.check_once() == ["streaming"] and stopped.starts == 1


@pytest.mark.parametrize("name", ["scheduler", "kafka"])
def test_back_off_doubles_while_a_service_keeps_crashing_and_resets_after_a_stable_run(settings, name):
    clock, role = Clock(), Role(name, running=False, fails=True)
    supervisor = Supervisor(settings, [role], first_backoff_s=1, max_backoff_s=8, stable_s=100, clock=clock)
    tries = []
    for _ in range(40):                       # 20 s in steps of 0.5 s
        if supervisor.check_once():
            tries.append(clock.now - 1000)
        clock.now += 0.5
    assert tries == [0, 1, 3, 7, 15]           # waits of 1, 2, 4, 8 (the cap), 8 ...
    role.fails = False
    clock.now = 1000 + tries[-1] + 8
    assert supervisor.check_once() == [name]
    clock.now += 101                           # a stable run: the next crash waits only the first back-off
    supervisor.check_once()
    role._running = False
    assert supervisor.check_once() == [name]
    role._running = False
    clock.now += 1.1
    assert supervisor.check_once() == [name]


def test_an_unhealthy_streaming_job_is_restarted_only_after_its_grace(settings):
    clock, job = Clock(), Role("streaming", healthy=False)
    supervisor = Supervisor(settings, [job], clock=clock)
    assert supervisor.check_once() == []
    clock.now += 299
    assert supervisor.check_once() == []
    clock.now += 2
    assert supervisor.check_once() == ["streaming"] and job.stops == 1 and job.starts == 1


def test_an_unhealthy_role_without_a_grace_is_left_running(settings):
    scheduler = Role("scheduler", healthy=False)
    assert Supervisor(settings, [scheduler], clock=Clock()).check_once() == []


def test_counts_survive_a_restart_of_the_supervisor(settings):
    role = Role("api", running=False)
    Supervisor(settings, [role], clock=Clock()).check_once()
    role._running = False
    Supervisor(settings, [role], clock=Clock()).check_once()
    assert read_restarts(settings)["api"]["restarts"] == 2


def test_the_supervisor_watches_local_kafka_and_cassandra_before_the_roles(tmp_path):
    local = [s.name for s in stack.supervised_services(Settings(run_dir=tmp_path))]
    assert local[:2] == ["cassandra", "kafka"] and local[2:] == ["streaming", "scheduler", "trainer", "api"]
    remote = [s.name for s in stack.supervised_services(Settings(run_dir=tmp_path, local_services=[]))]
    assert remote == ["streaming", "scheduler", "trainer", "api"]   # another's Kafka is not ours to start
    assert "supervisor" not in local and local.count("kafka") == 1


def test_a_crashed_kafka_is_started_again_and_its_topics_made_once_it_answers(settings):
    kafka = Role("kafka", running=False)
    kafka._healthy = False                      # a broker takes a while to answer after its process starts
    clock = Clock()
    supervisor = Supervisor(settings, [kafka, Role("cassandra")], clock=clock)
    assert supervisor.check_once() == ["kafka"] and kafka.starts == 1
    saved = read_restarts(settings)["kafka"]
    assert saved["restarts"] == 1 and saved["starting_pid"] == 4242      # make status: restarting
    assert supervisor.check_once() == [] and kafka.after_starts == 0     # not waited for, not yet answering
    kafka._healthy = True
    clock.now += 2
    assert supervisor.check_once() == [] and kafka.after_starts == 1     # topics: ensure_topics, once
    assert read_restarts(settings)["kafka"]["starting_pid"] is None
    supervisor.check_once()
    assert kafka.after_starts == 1 and kafka.starts == 1


def test_kafka_stopped_on_purpose_is_left_stopped(settings):
    """make down, or a benchmark stopping the broker: not a crash."""
    kafka, cassandra = Role("kafka", running=False, held=True), Role("cassandra", running=False, held=True)
    supervisor = Supervisor(settings, [cassandra, kafka], clock=Clock())
    assert supervisor.check_once() == [] and kafka.starts == cassandra.starts == 0
    kafka._held = False
    assert supervisor.check_once() == ["kafka"]


def test_infrastructure_is_restarted_before_the_roles_that_need_it(settings):
    """All crashed at once: Kafka and Cassandra start first, the streaming job only once both answer (and the
    topics exist); the API, which serves degraded answers without them, is not held back."""
    events: list[str] = []
    cassandra, kafka = Role("cassandra", running=False, events=events), Role("kafka", running=False, events=events)
    job = Role("streaming", running=False, needs=("kafka", "cassandra"), events=events)
    api = Role("api", running=False, events=events)
    for service in (cassandra, kafka):
        service._healthy = False
    clock = Clock()
    supervisor = Supervisor(settings, [cassandra, kafka, job, api], clock=clock)
    assert supervisor.check_once() == ["cassandra", "kafka", "api"]
    clock.now += 2
    cassandra._healthy = True
    assert supervisor.check_once() == [] and job.starts == 0            # Kafka does not answer yet
    clock.now += 2
    kafka._healthy = True
    assert supervisor.check_once() == ["streaming"]
    assert events == ["start cassandra", "start kafka", "start api", "after_start cassandra", "after_start api",
                      "after_start kafka", "start streaming"]


def test_a_role_waits_until_a_restarted_kafka_has_made_its_topics(settings):
    """The broker answers, but creating the topics failed: the job would start on topics that are not there."""
    clock, kafka = Clock(), Role("kafka", running=False)
    job = Role("streaming", running=False, needs=("kafka",))
    supervisor = Supervisor(settings, [kafka, job], clock=clock)
    assert supervisor.check_once() == ["kafka"]
    kafka.after_start_fails = True
    clock.now += 2
    assert supervisor.check_once() == [] and kafka.after_starts == 1
    kafka.after_start_fails = False
    clock.now += 2
    assert supervisor.check_once() == ["streaming"] and kafka.after_starts == 2


def test_a_role_is_not_restarted_while_a_service_it_needs_is_down(settings):
    """The streaming job without Kafka stays up (Flink retries its tasks) but unhealthy: restarting it every
    grace period, or its process in a loop, would only replay its checkpoint against a broker that is gone."""
    clock = Clock()
    kafka = Role("kafka", running=False, held=True)          # a benchmark stopped it
    job = Role("streaming", healthy=False, needs=("kafka",))
    crashed = Role("scheduler", running=False, needs=("kafka",))
    supervisor = Supervisor(settings, [kafka, job, crashed], clock=clock)
    for _ in range(100):                                     # 10 minutes, twice the job's grace
        assert supervisor.check_once() == []
        clock.now += 6
    assert job.starts == crashed.starts == 0
    kafka._held = False
    kafka.start()
    assert supervisor.check_once() == ["scheduler"]          # its process had exited: at once
    clock.now += 299                                         # the job's grace starts again with Kafka back
    assert supervisor.check_once() == []
    clock.now += 2
    assert supervisor.check_once() == ["streaming"]


def test_a_role_needing_a_service_not_supervised_here_is_restarted(settings):
    """Kafka on another host (not in local_services): not ours to wait for."""
    job = Role("streaming", running=False, needs=("kafka", "cassandra"))
    assert Supervisor(settings, [Role("cassandra"), job], clock=Clock()).check_once() == ["streaming"]
