import pytest
from pydantic import ValidationError

from config import Settings, registry


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os
    for name in list(os.environ):
        if name.startswith("ANIMEREC_") or name in ("KAFKA_BOOTSTRAP_SERVERS", "CASSANDRA_CONTACT_POINTS"):
            monkeypatch.delenv(name)


def test_conventional_env_names_override_defaults(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-a:9092,broker-b:9092")
    monkeypatch.setenv("CASSANDRA_CONTACT_POINTS", "cass-1, cass-2")
    monkeypatch.setenv("ANIMEREC_API_PORT", "9100")
    settings = Settings()
    assert settings.kafka.bootstrap_servers == "broker-a:9092,broker-b:9092"
    assert settings.cassandra.contact_points == ["cass-1", "cass-2"]
    assert settings.api.port == 9100


def test_section_variables_reach_nested_fields(monkeypatch):
    monkeypatch.setenv("ANIMEREC_BATCH_ALS_RANK", "16")
    monkeypatch.setenv("ANIMEREC_BATCH_SCHEDULE", "600")
    monkeypatch.setenv("ANIMEREC_BATCH_SCHEDULE_ALS", "*/15 * * * *")
    monkeypatch.setenv("ANIMEREC_RANKER_SOURCES", "ease,content")
    monkeypatch.setenv("ANIMEREC_DATA_DIR", "/data/anime")
    settings = Settings()
    assert settings.batch.als_rank == 16
    assert settings.batch.schedule_for("als") == "*/15 * * * *"
    assert settings.batch.schedule_for("ease") == "600"
    assert settings.ranker.sources == ["ease", "content"]
    assert str(settings.anime_csv) == "/data/anime/anime.csv"


def test_unknown_animerec_variable_is_an_error_that_names_it(monkeypatch):
    monkeypatch.setenv("ANIMEREC_BATCH_ALS_RANKK", "16")
    with pytest.raises(ValueError, match="ANIMEREC_BATCH_ALS_RANKK"):
        Settings()


def test_test_suite_variables_are_not_settings(monkeypatch):
    monkeypatch.setenv("ANIMEREC_TEST_PORT_BASE", "21000")
    assert Settings().api.port == 8000


@pytest.mark.parametrize("name,value", [("ANIMEREC_API_PORT", "70000"), ("ANIMEREC_CASSANDRA_KEYSPACE", "Bad-Name"),
                                        ("ANIMEREC_LOCAL_SERVICES", "kafka,zookeeper"),
                                        ("ANIMEREC_RANKER_SOURCES", "ease,recent"),
                                        ("ANIMEREC_BATCH_SCHEDULE_NOSUCHJOB", "60"),
                                        ("ANIMEREC_BATCH_JOBS", "als,nosuchjob")])
def test_invalid_values_are_rejected(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_unknown_keyword_is_rejected():
    with pytest.raises(ValidationError):
        Settings(kafka={"bootstrap_server": "typo:9092"})


def test_as_env_round_trips(monkeypatch):
    original = Settings(cassandra={"contact_points": ["h1", "h2"]}, api={"port": 8123},
                        security={"jwt_secret": "t" * 40}, local_services=[], batch={"schedules": {"als": "60"}, "jobs": ["als", "ease"]})
    for key, value in original.as_env().items():
        monkeypatch.setenv(key, value)
    assert Settings() == original


def test_ranker_and_batch_defaults_come_from_the_registry():
    settings = Settings()
    assert settings.ranker.sources == list(registry.USER_SOURCES)
    assert settings.batch.jobs == list(registry.JOBS)


@pytest.mark.auth_on
def test_auth_is_on_by_default():
    assert Settings().auth == "on"


@pytest.mark.auth_on
@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "api.example.org", "::"])
def test_auth_off_is_refused_when_the_api_binds_beyond_loopback(monkeypatch, host):
    monkeypatch.setenv("ANIMEREC_AUTH", "off")
    with pytest.raises(ValidationError, match="ANIMEREC_AUTH=off is refused"):
        Settings(api={"host": host})


@pytest.mark.auth_on
@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_auth_off_is_taken_on_loopback(monkeypatch, host):
    monkeypatch.setenv("ANIMEREC_AUTH", "off")
    assert Settings(api={"host": host}).auth == "off"
