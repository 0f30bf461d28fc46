"""The one configuration object of animerec.

Every value has a default that runs the whole stack on loopback; each can be overridden
by an environment variable (``ANIMEREC_<FIELD>``, or the conventional names below), so
pointing the platform at real clusters is a configuration change.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(f"ANIMEREC_{name.upper()}", name.upper(), *aliases)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Kafka
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias=_env("kafka_bootstrap_servers"))
    kafka_port: int = Field(9092, ge=1, le=65535, validation_alias=_env("kafka_port"))
    kafka_controller_port: int = Field(9093, ge=1, le=65535, validation_alias=_env("kafka_controller_port"))
    kafka_request_timeout_ms: int = Field(10_000, ge=100, validation_alias=_env("kafka_request_timeout_ms"))

    # Cassandra
    cassandra_contact_points: Annotated[list[str], NoDecode] = Field(["127.0.0.1"], validation_alias=_env("cassandra_contact_points"))
    cassandra_port: int = Field(9042, ge=1, le=65535, validation_alias=_env("cassandra_port"))
    cassandra_keyspace: str = Field("animerec", pattern=r"^[a-z][a-z0-9_]{0,47}$",
                                    validation_alias=_env("cassandra_keyspace"))
    cassandra_replication_factor: int = Field(1, ge=1, validation_alias=_env("cassandra_replication_factor"))
    cassandra_heap: str = Field("1G", pattern=r"^[0-9]+[MG]$", validation_alias=_env("cassandra_heap"))
    cassandra_storage_port: int = Field(7000, ge=1, le=65535, validation_alias=_env("cassandra_storage_port"))
    cassandra_jmx_port: int = Field(7199, ge=1, le=65535, validation_alias=_env("cassandra_jmx_port"))
    kafka_replication_factor: int = Field(1, ge=1, validation_alias=_env("kafka_replication_factor"))

    # Which services the local launcher runs; name none to use clusters given above.
    local_services: Annotated[list[str], NoDecode] = Field(["kafka", "cassandra"], validation_alias=_env("local_services"))

    # Where things live
    run_dir: Path = Field(PROJECT_ROOT / "run", validation_alias=_env("run_dir"))
    cache_dir: Path = Field(PROJECT_ROOT / ".cache", validation_alias=_env("cache_dir"))
    data_dir: Path = Field(PROJECT_ROOT.parent / "shared" / "data" / "anime", validation_alias=_env("data_dir"))
    model_dir: Path = Field(PROJECT_ROOT / "run" / "models", validation_alias=_env("model_dir"))
    evaluation_dir: Path = Field(PROJECT_ROOT / "run" / "evaluation", validation_alias=_env("evaluation_dir"))

    # API
    api_host: str = Field("127.0.0.1", validation_alias=_env("api_host"))
    api_port: int = Field(8000, ge=1, le=65535, validation_alias=_env("api_port"))
    api_workers: int = Field(2, ge=1, validation_alias=_env("api_workers"))
    admin_token: SecretStr | None = Field(None, validation_alias=_env("admin_token"),
                                          description="Bearer token for /admin routes; unset = open (development)")

    # Streaming: empty jobmanager = a PyFlink local cluster in the streaming process
    flink_jobmanager: str = Field("", pattern=r"^([A-Za-z0-9_.-]+:[0-9]+)?$", validation_alias=_env("flink_jobmanager"))
    flink_parallelism: int = Field(1, ge=1, validation_alias=_env("flink_parallelism"))
    flink_checkpoint_interval_ms: int = Field(5_000, ge=100, validation_alias=_env("flink_checkpoint_interval_ms"))

    # Batch
    spark_master: str = Field("local[*]", validation_alias=_env("spark_master"))
    spark_driver_memory: str = Field("2g", validation_alias=_env("spark_driver_memory"))
    popular_list_size: int = Field(300, ge=1, le=5000, validation_alias=_env("popular_list_size"))

    # Ranker training (python -m ranking.train, POST /admin/train)
    ranker_sources: str = Field("als,ease,itemitem,content", pattern=r"^(als|ease|itemitem|content)(,(als|ease|itemitem|content))*$",
                                validation_alias=_env("ranker_sources"))
    ranker_max_users: int = Field(2500, ge=10, validation_alias=_env("ranker_max_users"))

    @field_validator("cassandra_contact_points", "local_services", mode="before")
    @classmethod
    def _split_hosts(cls, value):
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("local_services")
    @classmethod
    def _known_services(cls, value: list[str]) -> list[str]:
        unknown = set(value) - {"kafka", "cassandra"}
        if unknown:
            raise ValueError(f"unknown local services {sorted(unknown)}; choose from kafka, cassandra")
        return value

    def as_env(self) -> dict[str, str]:
        """These settings as ANIMEREC_* variables, for child processes."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"ANIMEREC_{name.upper()}"] = ",".join(value) if isinstance(value, list) else str(value)
        return env

    @property
    def anime_csv(self) -> Path:
        return self.data_dir / "anime.csv"

    @property
    def ratings_csv(self) -> Path:
        return self.data_dir / "rating_sample.csv"

    @property
    def synopsis_csv(self) -> Path:
        return self.data_dir / "anime_with_synopsis.csv"

    @property
    def lib_dir(self) -> Path:
        return self.cache_dir / "lib"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
