"""POST events to the API from a pool of threads (the replay's ``--target api``, the benchmarks)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

from ingest.events import Event

PATHS = {"click": "/clicks", "view": "/views", "rating": "/ratings"}


class ApiPoster:
    """Sends each event to its route; ``send`` blocks only while ``workers`` requests are already in flight."""

    def __init__(self, base_url: str, workers: int = 16, timeout_s: float = 10.0, on_done=None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.on_done = on_done
        self.failures = 0
        self._pool = ThreadPoolExecutor(workers)
        self._slots = threading.Semaphore(workers * 2)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1))
        return session

    def _post(self, event: Event) -> None:
        body = {"user_id": event.user_id, "anime_id": event.anime_id, "timestamp": event.timestamp,
                "event_id": event.event_id}
        if event.kind == "rating":
            body["rating"] = event.rating
        try:
            answer = self._session().post(self.base_url + PATHS[event.kind], json=body, timeout=self.timeout_s)
            ok = answer.status_code < 300
        except requests.RequestException:
            ok = False
        if not ok:
            self.failures += 1
        if self.on_done is not None:
            self.on_done(event, ok)
        self._slots.release()

    def send(self, event: Event) -> None:
        self._slots.acquire()
        self._pool.submit(self._post, event)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "ApiPoster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
