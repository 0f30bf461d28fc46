"""The supervisor role: starts a service of the stack again when it has crashed.

Every ``interval_s`` it looks at each supervised service, in order: the local Kafka and Cassandra
first, then the roles (the streaming job, the batch scheduler, the trainer, the API: gunicorn itself
replaces a crashed API worker, the supervisor a crashed API master). A service that was stopped on
purpose (``Service.stop``: ``make down``, a benchmark stopping the streaming job) is left stopped
until it is started again. A service whose process has exited, or that has been unhealthy for longer
than its grace period, is started again after a back-off that doubles with each restart in a row
(from ``first_backoff_s`` to ``max_backoff_s``) and starts over once it has run ``stable_s``. A
restarted service is not waited for: once it answers, its ``after_start`` runs (Kafka's topics: only
the missing ones are created), and until then, as while it is down or stopped on purpose, the roles
that need it (``Service.needs``) are not restarted (the streaming job does not exit without Kafka:
Flink retries its tasks itself). Each restart is logged and counted in
``<run_dir>/supervisor/restarts.json``, which ``make status`` shows.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from config import Settings

log = logging.getLogger("animerec.supervisor")
# How long a running role may stay unhealthy before it is restarted (None: only when its process exits).
UNHEALTHY_GRACE_S = {"streaming": 300.0, "api": 60.0}


@dataclass
class RoleState:
    restarts: int = 0
    last_restart: str | None = None
    last_reason: str | None = None
    starting_pid: int | None = None        # the process it last started, until that answers (status: restarting)
    streak: int = 0                        # restarts in a row, without a stable run between them
    next_try: float = 0.0                  # monotonic time before which it is not restarted again
    unhealthy_since: float | None = None
    started_at: float = 0.0
    waiting_for: list[str] | None = None   # the services it needs that are down (logged when it changes)


def restarts_file(settings: Settings) -> Path:
    return settings.run_dir / "supervisor" / "restarts.json"


def read_restarts(settings: Settings) -> dict[str, dict]:
    """Service -> ``{restarts, last_restart, last_reason, starting_pid}`` as the supervisor last wrote it
    (empty: none yet)."""
    try:
        return json.loads(restarts_file(settings).read_text())
    except (FileNotFoundError, ValueError):
        return {}


class Supervisor:
    def __init__(self, settings: Settings, services: Sequence, interval_s: float = 2.0, first_backoff_s: float = 1.0,
                 max_backoff_s: float = 60.0, stable_s: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.settings, self.services, self.interval_s = settings, list(services), interval_s
        self.first_backoff_s, self.max_backoff_s, self.stable_s, self.clock = (first_backoff_s, max_backoff_s,
                                                                              stable_s, clock)
        self.by_name = {s.name: s for s in self.services}
        self.states = {s.name: RoleState(started_at=clock()) for s in self.services}
        for name, saved in read_restarts(settings).items():      # counts survive a restart of the supervisor
            if name in self.states:
                self.states[name].restarts = int(saved.get("restarts", 0))
                self.states[name].last_restart = saved.get("last_restart")
                self.states[name].last_reason = saved.get("last_reason")
                self.states[name].starting_pid = saved.get("starting_pid")

    def _problem(self, service, state: RoleState, now: float) -> str | None:
        if not service.running():
            # Asked after the process has gone: a stop writes its hold before signalling the process.
            return None if service.held() else "its process exited"
        grace = UNHEALTHY_GRACE_S.get(service.name)
        if grace is None:
            return None
        if service.healthy() or service.held():   # held: being stopped on purpose
            state.unhealthy_since = None
            return None
        if self._waiting(service, state, "unhealthy"):   # its grace starts once they are back
            state.unhealthy_since = None
            return None
        state.unhealthy_since = state.unhealthy_since or now
        if now - state.unhealthy_since > grace:
            return f"unhealthy for {now - state.unhealthy_since:.0f}s"
        return None

    def _came_up(self, service, state: RoleState) -> bool:
        """Whether a service it started again now answers and has done what needs it up (``after_start``)."""
        if not (service.running() and service.healthy()):
            return False
        try:
            service.after_start()
        except Exception as exc:                 # noqa: BLE001 -- tried again at the next check
            log.error("%s answers, but its after-start work failed: %s", service.name, exc)
            return False
        log.info("%s is up again", service.name)
        state.starting_pid = None
        return True

    def _waiting(self, service, state: RoleState, reason: str) -> bool:
        """Whether a service it needs (of those supervised here) is down, stopped, or started and not yet up."""
        waiting = [name for name in service.needs if name in self.by_name
                   and (self.states[name].starting_pid is not None or not self.by_name[name].running()
                        or not self.by_name[name].healthy())]
        if waiting and waiting != state.waiting_for:
            log.warning("not restarting %s (%s) while %s down", service.name, reason, ", ".join(waiting))
        state.waiting_for = waiting or None
        return bool(waiting)

    def check_once(self) -> list[str]:
        """Look at every service once and restart those that need it (back-off and the services they need
        permitting); their names."""
        restarted, changed = [], False
        for service in self.services:
            state, now = self.states[service.name], self.clock()
            if state.streak and now - state.started_at > self.stable_s:
                state.streak = 0
            if state.starting_pid is not None and self._came_up(service, state):
                changed = True
            reason = self._problem(service, state, now)
            if reason is None or now < state.next_try:
                continue
            if self._waiting(service, state, reason):
                continue
            log.warning("restarting %s (restart %d): %s", service.name, state.restarts + 1, reason)
            try:
                service.stop()                   # whatever is left of it (a hung process, its children)
                service.start(wait=False)
            except Exception as exc:             # noqa: BLE001 -- a failed start is retried after the back-off
                log.error("starting %s again failed: %s", service.name, exc)
            state.starting_pid = service.pid()
            state.restarts += 1
            state.streak += 1
            state.last_restart = datetime.now(timezone.utc).isoformat(timespec="seconds")
            state.last_reason = reason
            state.started_at, state.unhealthy_since = now, None
            state.next_try = now + min(self.max_backoff_s, self.first_backoff_s * 2 ** (state.streak - 1))
            restarted.append(service.name)
        if restarted or changed:
            self._save()
        return restarted

    def _save(self) -> None:
        path = restarts_file(self.settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = ("restarts", "last_restart", "last_reason", "starting_pid")
        shown = {name: {k: v for k, v in asdict(s).items() if k in kept} for name, s in self.states.items()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(shown, indent=1))
        tmp.replace(path)

    def run(self, stop: threading.Event) -> None:
        log.info("supervising %s every %.1fs", ", ".join(s.name for s in self.services), self.interval_s)
        while not stop.wait(self.interval_s):
            try:
                self.check_once()
            except Exception:                    # noqa: BLE001 -- the supervisor itself must not die
                log.exception("supervisor check failed")
