"""Every Cassandra table of animerec, defined here and nowhere else.

Table names come from :class:`config.registry.Tables`; CQL here and in the store's modules
names a table as ``{<attribute of Tables in lower case>}`` (``{ratings_by_user}``), which
:class:`store.cassandra.session.CassandraSession` expands to ``<keyspace>.<table>``.

Each table is shaped for the query that reads it; no request path needs ALLOW FILTERING.
Versioned outputs of the batch jobs (recall lists, similar items) carry the build version
in their partition key, and ``list_versions`` points at the version readers should use:
a build writes a new version completely, then flips the pointer (one row, atomic).
"""
from __future__ import annotations

from config.registry import LIST_TABLES, Tables

KEYSPACE_CQL = ("CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
                "{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}")

# The one partition of training_runs: the queue is small (a run every few hours at most), and one
# partition makes "the oldest queued run" a single-partition read and the claim a Paxos round on it.
TRAINING_QUEUE = "ranker"

TABLES_CQL = {
    # GET /anime/<id>; the catalog is small enough for the API to cache it whole.
    Tables.ANIME: """
        CREATE TABLE IF NOT EXISTS {anime} (
            anime_id int PRIMARY KEY, name text, genres list<text>, type text,
            episodes int, rating float, members int, synopsis text)""",
    # A user's ratings (rating -1 = watched without a score).
    Tables.RATINGS_BY_USER: """
        CREATE TABLE IF NOT EXISTS {ratings_by_user} (
            user_id int, anime_id int, rating int, updated_at timestamp,
            PRIMARY KEY ((user_id), anime_id))""",
    # Per-title rating count and mean, computed by the batch job.
    Tables.ANIME_RATING_STATS: """
        CREATE TABLE IF NOT EXISTS {anime_rating_stats} (
            anime_id int PRIMARY KEY, ratings int, scored int, mean_score float)""",
    # Every event once, keyed by its id (a replayed event overwrites itself), in its user's partition: the stream's
    # writes of one user's burst are one mutation rather than one per event (about a third of the store's CPU
    # per row, docs/RESULTS.md), and a user's events are one partition's read. A partition grows with its
    # user's events, ~100 B each.
    Tables.EVENTS: """
        CREATE TABLE IF NOT EXISTS {events} (
            user_id int, event_id text, kind text, anime_id int, rating int,
            ts timestamp, written_at timestamp, PRIMARY KEY ((user_id), event_id))""",
    # Real-time features per title, written by the streaming job (absolute values from its state):
    # all-time counts and CTR, and counts in each sliding window as of the title's latest event
    # (window_at_<w>); a window that ended before now - <w> is empty. See config.registry.Window.
    Tables.TITLE_FEATURES: """
        CREATE TABLE IF NOT EXISTS {title_features} (
            anime_id int PRIMARY KEY, clicks bigint, views bigint, ctr double, last_event_at timestamp,
            clicks_1h bigint, views_1h bigint, window_at_1h timestamp,
            clicks_24h bigint, views_24h bigint, window_at_24h timestamp)""",
    # Events per UTC day (days since 1970-01-01) and genre, from the streaming job: the genre trends.
    Tables.GENRE_ACTIVITY: """
        CREATE TABLE IF NOT EXISTS {genre_activity} (
            day int, genre text, clicks bigint, views bigint, ratings bigint,
            PRIMARY KEY ((day), genre))""",
    # Real-time features per user: all-time counts, the forward-decayed genre affinity
    # (config.registry.GENRE_HALF_LIFE_DAYS; JSON text, genre -> weight: store.cassandra.events.STORED_AS), events
    # in the session window as of the latest event, and the newest events
    # (config.registry.RECENT_EVENTS), newest first, as JSON text (store.interfaces.EventStore.RECENT_COLUMNS).
    Tables.USER_FEATURES: """
        CREATE TABLE IF NOT EXISTS {user_features} (
            user_id int PRIMARY KEY, events bigint, clicks bigint, last_event_at timestamp,
            genre_weights text, events_30m bigint, session_at timestamp, recent text)""",
    # Which build of each versioned list readers should use.
    Tables.LIST_VERSIONS: """
        CREATE TABLE IF NOT EXISTS {list_versions} (
            list_name text PRIMARY KEY, version bigint, built_at timestamp, rows bigint)""",
    # Popular titles, overall (segment 'all') and per genre (segment 'genre:<name>').
    Tables.POPULAR_ITEMS: """
        CREATE TABLE IF NOT EXISTS {popular_items} (
            version bigint, segment text, rank int, anime_id int, score double,
            PRIMARY KEY ((version, segment), rank))""",
    # Recall candidates per user and source.
    Tables.USER_CANDIDATES: """
        CREATE TABLE IF NOT EXISTS {user_candidates} (
            version bigint, user_id int, source text, rank int, anime_id int, score double,
            PRIMARY KEY ((version, user_id), source, rank))""",
    # Neighbours per title and signal (co-watch, content).
    Tables.SIMILAR_ITEMS: """
        CREATE TABLE IF NOT EXISTS {similar_items} (
            version bigint, anime_id int, signal text, rank int, similar_id int, score double,
            PRIMARY KEY ((version, anime_id), signal, rank))""",
    # One row per load attempt: 'complete' is written only after the last batch landed.
    Tables.LOAD_RUNS: """
        CREATE TABLE IF NOT EXISTS {load_runs} (
            dataset text, run_id timeuuid, file_name text, sha256 text, status text,
            rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_skipped bigint,
            started_at timestamp, completed_at timestamp, seconds double, error text,
            PRIMARY KEY ((dataset), run_id)) WITH CLUSTERING ORDER BY (run_id DESC)""",
    # Ranker training requests, oldest first in one partition (queue = TRAINING_QUEUE): a worker
    # reads the partition in order and claims the first queued run with a lightweight
    # transaction (UPDATE ... IF state = 'queued'); every state change is such a transaction.
    Tables.TRAINING_RUNS: """
        CREATE TABLE IF NOT EXISTS {training_runs} (
            queue text, run_id timeuuid, state text, requested_at timestamp, requested_by text,
            params text, worker text, started_at timestamp, finished_at timestamp, version text,
            error text, log_tail list<text>,
            PRIMARY KEY ((queue), run_id)) WITH CLUSTERING ORDER BY (run_id ASC)""",
    # The last understood request of each /talk conversation (JSON), expiring a day after it.
    Tables.CONVERSATIONS: """
        CREATE TABLE IF NOT EXISTS {conversations} (
            conversation_id text PRIMARY KEY, user_id int, turn text, updated_at timestamp)""",
    # Titles' text embeddings (float32 bytes, unit length) per model version and field; the hash of the text
    # a vector was made from lets the embeddings job skip titles whose text has not changed.
    Tables.TITLE_EMBEDDINGS: """
        CREATE TABLE IF NOT EXISTS {title_embeddings} (
            model_version text, field text, anime_id int, text_hash text, vector blob,
            PRIMARY KEY ((model_version, field), anime_id))""",
    # Experiments (the spec as JSON) and the streaming job's per-variant counts of them, per hour of serving
    # (bucket = served_at // EXPERIMENT_BUCKET_MS; bucket -1 holds all-time figures: distinct titles shown).
    Tables.EXPERIMENTS: """
        CREATE TABLE IF NOT EXISTS {experiments} (
            experiment_id text PRIMARY KEY, name text, surface text, state text, spec text,
            created_at timestamp, stopped_at timestamp)""",
    Tables.EXPERIMENT_METRICS: """
        CREATE TABLE IF NOT EXISTS {experiment_metrics} (
            experiment_id text, variant text, bucket bigint, impressions bigint, items_shown bigint,
            clicks bigint, lists_clicked bigint, clicks_at_5 bigint, clicks_at_10 bigint, rr_sum double,
            views bigint, ratings bigint, titles_shown bigint,
            PRIMARY KEY ((experiment_id), variant, bucket))""",
    # Viewers' accounts by username; account_emails makes emails unique and finds an account by email.
    # Both are claimed with INSERT ... IF NOT EXISTS, so two sign-ups never share a name or an email.
    Tables.ACCOUNTS: """
        CREATE TABLE IF NOT EXISTS {accounts} (
            username text PRIMARY KEY, user_id int, email text, password_hash text, display_name text,
            favourite_genres list<text>, created_at timestamp, updated_at timestamp)""",
    Tables.ACCOUNT_EMAILS: """
        CREATE TABLE IF NOT EXISTS {account_emails} (email text PRIMARY KEY, username text)""",
    # Machines' API keys: the secret's digest, never the secret.
    Tables.API_KEYS: """
        CREATE TABLE IF NOT EXISTS {api_keys} (
            key_id text PRIMARY KEY, secret_hash text, role text, name text, created_at timestamp,
            revoked_at timestamp)""",
    # Counters handed out with compare-and-set (UPDATE ... IF next_id = ?): account user ids.
    Tables.ID_SEQUENCES: """
        CREATE TABLE IF NOT EXISTS {id_sequences} (name text PRIMARY KEY, next_id bigint)""",
}

# Columns added to a table after it was first released: ``migrate`` adds those a keyspace lacks.
ADDED_COLUMNS = {
    Tables.USER_FEATURES: {"recent": "text", "genre_weights": "text"},
}

# Partition key of each versioned table: (version, <one column>); drop_versions deletes by it.
LIST_PARTITION_KEYS = {LIST_TABLES["popular"]: ("version", "segment"),
                       LIST_TABLES["candidates"]: ("version", "user_id"),
                       LIST_TABLES["similar"]: ("version", "anime_id")}


def table_names(keyspace: str) -> dict[str, str]:
    """``{placeholder: keyspace.table}`` for every table of :class:`Tables`, by attribute in lower case and
    by table name (``ratings_by_user`` -> ``animerec.ratings_by_user``)."""
    names = {}
    for attr, name in vars(Tables).items():
        if attr.isupper() and isinstance(name, str):
            names[attr.lower()] = names[name] = f"{keyspace}.{name}"
    return names
