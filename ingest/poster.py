"""POST events to the API from a pool of threads (the replay's ``--target api``, the benchmarks): one per
request on its route, or ``batch`` at a time through ``POST /events``."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

from ingest.events import Event

PATHS = {"click": "/clicks", "view": "/views", "rating": "/ratings"}


class ApiPoster:
    """Sends each event to its route; ``send`` blocks only while ``workers`` requests are already in flight."""

    def __init__(self, base_url: str, workers: int = 16, timeout_s: float = 10.0, on_done=None, batch: int = 1,
                 api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.on_done = on_done
        self.batch = batch
        self.failures = 0
        self._pending: list[Event] = []
        self._pool = ThreadPoolExecutor(workers)
        self._slots = threading.Semaphore(workers * 2)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1))
            if self.api_key:
                session.headers["X-API-Key"] = self.api_key
        return session

    @staticmethod
    def _body(event: Event) -> dict:
        body = {"user_id": event.user_id, "anime_id": event.anime_id, "timestamp": event.timestamp,
                "event_id": event.event_id}
        if event.kind == "rating":
            body["rating"] = event.rating
        return body

    def _post(self, events: list[Event]) -> None:
        try:
            if self.batch == 1:
                path, body = PATHS[events[0].kind], self._body(events[0])
            else:
                path, body = "/events", {"events": [{"kind": e.kind, **self._body(e)} for e in events]}
            answer = self._session().post(self.base_url + path, json=body, timeout=self.timeout_s)
            ok = answer.status_code < 300
        except requests.RequestException:
            ok = False
        if not ok:
            self.failures += len(events)
        if self.on_done is not None:
            for event in events:
                self.on_done(event, ok)
        self._slots.release()

    def _submit(self) -> None:
        events, self._pending = self._pending, []
        self._slots.acquire()
        self._pool.submit(self._post, events)

    def send(self, event: Event) -> None:
        self._pending.append(event)
        if len(self._pending) >= self.batch:
            self._submit()

    def close(self) -> None:
        if self._pending:
            self._submit()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "ApiPoster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
