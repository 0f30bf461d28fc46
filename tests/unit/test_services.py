import socket

import pytest

from config import Settings
from ops.services import KafkaService


def test_a_service_refuses_ports_another_process_holds(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = KafkaService(Settings(run_dir=tmp_path, kafka={"port": port, "controller_port": port + 1}))
        with pytest.raises(RuntimeError, match="already in use"):
            service.start()
        assert not service.running()
