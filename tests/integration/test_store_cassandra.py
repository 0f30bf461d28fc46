"""The store contract on real Cassandra, in a scratch keyspace; and a node lost mid-way.

Runs on the session's Cassandra (tests/integration/conftest.py). Every contract test starts on
empty tables (TRUNCATE); the keyspace is dropped at the end.
"""
from __future__ import annotations

import socket
import threading

import pytest

from store import StoreUnavailable, open_store
from tests.store_contract import StoreContract

pytestmark = pytest.mark.integration

KEYSPACE = "animerec_contract"


def _scratch(settings, **cassandra):
    return settings.model_copy(update={"cassandra": settings.cassandra.model_copy(
        update={"keyspace": KEYSPACE, **cassandra})})


@pytest.fixture(scope="module")
def contract_store(settings):
    store = open_store(_scratch(settings), retries=10, migrate=True)
    store.drop_keyspace()             # leftovers of an interrupted run
    store.migrate()
    yield store
    store.drop_keyspace()
    store.close()


class TestCassandraStoreContract(StoreContract):
    @pytest.fixture
    def store(self, contract_store):
        contract_store.truncate()
        return contract_store


class _TcpProxy:
    """Forwards a loopback port to Cassandra; ``cut()`` is the node dying: every connection drops and
    new ones are refused."""

    def __init__(self, host: str, port: int):
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target)
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def test_a_node_lost_mid_way_raises_store_unavailable(settings, contract_store):
    proxy = _TcpProxy(settings.cassandra.contact_points[0], settings.cassandra.port)
    store = open_store(_scratch(settings, contact_points=["127.0.0.1"], port=proxy.port))
    try:
        store.upsert_anime([{"anime_id": 1, "name": "A"}])
        assert store.get_anime(1)["name"] == "A"
        proxy.cut()
        with pytest.raises(StoreUnavailable):
            store.get_anime(1)
        with pytest.raises(StoreUnavailable):
            store.upsert_ratings([(1, 1, 5)])
        with pytest.raises(StoreUnavailable):
            store.claim_training("w")
    finally:
        proxy.cut()
        store.close()
