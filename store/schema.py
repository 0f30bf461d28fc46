"""Every Cassandra table of animerec, defined here and nowhere else.

Each table is shaped for the query that reads it; no request path needs ALLOW FILTERING.
Versioned outputs of the batch jobs (recall lists, similar items) carry the build version
in their partition key, and ``list_versions`` points at the version readers should use:
a build writes a new version completely, then flips the pointer (one row, atomic).
"""
from __future__ import annotations

# Table names, for code that addresses tables without CQL (the Spark connector).
ANIME = "anime"
RATINGS_BY_USER = "ratings_by_user"
ANIME_RATING_STATS = "anime_rating_stats"
EVENTS = "events"
USER_EVENTS = "user_events"
ANIME_EVENT_COUNTS = "anime_event_counts"
ANIME_EVENT_WINDOWS = "anime_event_windows"
LIST_VERSIONS = "list_versions"
POPULAR_ITEMS = "popular_items"
USER_CANDIDATES = "user_candidates"
SIMILAR_ITEMS = "similar_items"
LOAD_RUNS = "load_runs"

KEYSPACE_CQL = ("CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
                "{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}")

TABLES_CQL = {
    # GET /anime/<id>; the catalog is small enough for the API to cache it whole.
    ANIME: """
        CREATE TABLE IF NOT EXISTS anime (
            anime_id int PRIMARY KEY, name text, genres list<text>, type text,
            episodes int, rating float, members int, synopsis text)""",
    # A user's ratings (rating -1 = watched without a score).
    RATINGS_BY_USER: """
        CREATE TABLE IF NOT EXISTS ratings_by_user (
            user_id int, anime_id int, rating int, updated_at timestamp,
            PRIMARY KEY ((user_id), anime_id))""",
    # Per-title rating count and mean, computed by the batch job.
    ANIME_RATING_STATS: """
        CREATE TABLE IF NOT EXISTS anime_rating_stats (
            anime_id int PRIMARY KEY, ratings int, scored int, mean_score float)""",
    # Every event once, keyed by its id: a replayed event overwrites itself.
    EVENTS: """
        CREATE TABLE IF NOT EXISTS events (
            event_id text PRIMARY KEY, kind text, user_id int, anime_id int, rating int,
            ts timestamp, written_at timestamp)""",
    # A user's recent events, newest first.
    USER_EVENTS: """
        CREATE TABLE IF NOT EXISTS user_events (
            user_id int, ts timestamp, event_id text, kind text, anime_id int,
            PRIMARY KEY ((user_id), ts, event_id))
        WITH CLUSTERING ORDER BY (ts DESC, event_id ASC)""",
    # Running totals per title, written as absolute values from the streaming job's state.
    ANIME_EVENT_COUNTS: """
        CREATE TABLE IF NOT EXISTS anime_event_counts (
            anime_id int PRIMARY KEY, clicks bigint, views bigint, updated_at timestamp)""",
    # Per-title counts in fixed event-time windows (trending, recency-weighted popularity).
    ANIME_EVENT_WINDOWS: """
        CREATE TABLE IF NOT EXISTS anime_event_windows (
            anime_id int, window_start timestamp, clicks bigint, views bigint,
            PRIMARY KEY ((anime_id), window_start))
        WITH CLUSTERING ORDER BY (window_start DESC)""",
    # Which build of each versioned list readers should use.
    LIST_VERSIONS: """
        CREATE TABLE IF NOT EXISTS list_versions (
            list_name text PRIMARY KEY, version bigint, built_at timestamp, rows bigint)""",
    # Popular titles, overall (segment 'all') and per genre (segment 'genre:<name>').
    POPULAR_ITEMS: """
        CREATE TABLE IF NOT EXISTS popular_items (
            version bigint, segment text, rank int, anime_id int, score double,
            PRIMARY KEY ((version, segment), rank))""",
    # Recall candidates per user and source.
    USER_CANDIDATES: """
        CREATE TABLE IF NOT EXISTS user_candidates (
            version bigint, user_id int, source text, rank int, anime_id int, score double,
            PRIMARY KEY ((version, user_id), source, rank))""",
    # Neighbours per title and signal (co-watch, content).
    SIMILAR_ITEMS: """
        CREATE TABLE IF NOT EXISTS similar_items (
            version bigint, anime_id int, signal text, rank int, similar_id int, score double,
            PRIMARY KEY ((version, anime_id), signal, rank))""",
    # One row per load attempt: 'complete' is written only after the last batch landed.
    LOAD_RUNS: """
        CREATE TABLE IF NOT EXISTS load_runs (
            dataset text, run_id timeuuid, file_name text, sha256 text, status text,
            rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_skipped bigint,
            started_at timestamp, completed_at timestamp, seconds double, error text,
            PRIMARY KEY ((dataset), run_id)) WITH CLUSTERING ORDER BY (run_id DESC)""",
}

VERSIONED_TABLES = {"popular": POPULAR_ITEMS, "candidates": USER_CANDIDATES, "similar": SIMILAR_ITEMS}
