"""The supervisor starts a crashed role again, with doubling back-off, counts it, and leaves healthy roles alone."""
from __future__ import annotations

import pytest

from config import Settings
from ops.supervisor import Supervisor, read_restarts


class Role:
    """A role whose process runs or has exited; ``start`` brings it back unless ``fails``."""

    def __init__(self, name: str, running: bool = True, healthy: bool = True, fails: bool = False,
                 held: bool = False):
        self.name, self._running, self._healthy, self.fails, self._held = name, running, healthy, fails, held
        self.starts = self.stops = 0

    def running(self) -> bool:
        return self._running

    def healthy(self) -> bool:
        return self._healthy

    def held(self) -> bool:
        return self._held

    def stop(self) -> None:
        self.stops += 1
        self._running = False

    def start(self, wait: bool = True) -> None:
        self.starts += 1
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


def test_back_off_doubles_while_a_role_keeps_crashing_and_resets_after_a_stable_run(settings):
    clock, role = Clock(), Role("scheduler", running=False, fails=True)
    supervisor = Supervisor(settings, [role], first_backoff_s=1, max_backoff_s=8, stable_s=100, clock=clock)
    tries = []
    for _ in range(40):                       # 20 s in steps of 0.5 s
        if supervisor.check_once():
            tries.append(clock.now - 1000)
        clock.now += 0.5
    assert tries == [0, 1, 3, 7, 15]           # waits of 1, 2, 4, 8 (the cap), 8 ...
    role.fails = False
    clock.now = 1000 + tries[-1] + 8
    assert supervisor.check_once() == ["scheduler"]
    clock.now += 101                           # a stable run: the next crash waits only the first back-off
    supervisor.check_once()
    role._running = False
    assert supervisor.check_once() == ["scheduler"]
    role._running = False
    clock.now += 1.1
    assert supervisor.check_once() == ["scheduler"]


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
