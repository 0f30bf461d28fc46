import pytest
from pydantic import ValidationError

from infra.config import Settings


def test_conventional_env_names_override_defaults(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-a:9092,broker-b:9092")
    monkeypatch.setenv("CASSANDRA_CONTACT_POINTS", "cass-1, cass-2")
    monkeypatch.setenv("ANIMEREC_API_PORT", "9100")
    settings = Settings()
    assert settings.kafka_bootstrap_servers == "broker-a:9092,broker-b:9092"
    assert settings.cassandra_contact_points == ["cass-1", "cass-2"]
    assert settings.api_port == 9100


@pytest.mark.parametrize("name,value", [("ANIMEREC_API_PORT", "70000"), ("ANIMEREC_CASSANDRA_KEYSPACE", "Bad-Name"),
                                        ("ANIMEREC_LOCAL_SERVICES", "kafka,zookeeper")])
def test_invalid_values_are_rejected(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_as_env_round_trips(monkeypatch):
    original = Settings(cassandra_contact_points=["h1", "h2"], api_port=8123, local_services=[])
    for key, value in original.as_env().items():
        monkeypatch.setenv(key, value)
    assert Settings() == original
