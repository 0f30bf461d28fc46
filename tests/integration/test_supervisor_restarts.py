"""The supervisor brings a crashed role back: the trainer role killed with SIGKILL runs again, counted."""
from __future__ import annotations

import os
import signal

from ops.services import TrainerService
from ops.supervisor import Supervisor, read_restarts
from tests.integration.conftest import wait_for


def test_a_killed_role_is_started_again_and_its_restart_counted(trainer, settings):
    role = TrainerService(settings)
    before = role.pid()
    assert before is not None, "the test stack runs the trainer role"
    counted = read_restarts(settings).get("trainer", {}).get("restarts", 0)
    supervisor = Supervisor(settings, [role], interval_s=0.2)
    assert supervisor.check_once() == []            # a running role is left alone
    os.kill(before, signal.SIGKILL)
    wait_for(lambda: supervisor.check_once() == ["trainer"], timeout_s=30, interval_s=0.2)
    after = wait_for(role.pid, timeout_s=30)
    assert after != before
    wait_for(role.healthy, timeout_s=60)
    assert read_restarts(settings)["trainer"]["restarts"] == counted + 1
    assert "exited" in read_restarts(settings)["trainer"]["last_reason"]
