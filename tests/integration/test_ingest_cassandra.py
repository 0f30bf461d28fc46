"""The ingest loaders against the real Cassandra (at the configured contact points), in a scratch keyspace."""
from __future__ import annotations

import pytest

from ingest import __main__ as cli
from ingest.catalog import last_complete_load, load
from ingest.csv_rows import ANIME, CsvParser

pytestmark = pytest.mark.integration

# Ids far above MyAnimeList's, so the small files never collide with the real catalog.
A1, A2, A3, A4 = 9_000_001, 9_000_002, 9_000_003, 9_000_004
ANIME_CSV = ("anime_id,name,genre,type,episodes,rating,members\r\n"
             f"{A1},Gintama&#039;,\"Action, Comedy, Sci-Fi\",TV,51,9.16,151266\r\n"    # 2
             f"{A2},One &quot;Piece&quot;,\"Action, Adventure\",TV,Unknown,8.58,504862\r\n"  # 3
             f"{A3},Steins;Gate 0,,,,,60999\r\n"                                          # 4
             "abc,Broken id,Drama,TV,1,7.0,5\r\n"                                         # 5
             f"{A4},Short row,Drama\r\n"                                                  # 6
             f"{A4},Fourth,Drama,TV,1,7.5,5\r\n")                                         # 7


@pytest.fixture(scope="module")
def ingest_store(settings):
    """A scratch keyspace on the session's real Cassandra (tests/integration/conftest.py)."""
    from store import open_store
    cassandra = settings.cassandra.model_copy(update={"keyspace": "ingest_test"})
    scratch = settings.model_copy(update={"cassandra": cassandra})
    store = open_store(scratch, retries=10, migrate=True)
    store.drop_keyspace()
    store.migrate()
    yield store
    store.drop_keyspace()
    store.close()


@pytest.fixture
def cli_env(settings, monkeypatch):
    """The CLI reads its settings from the environment: point it at the session's services."""
    for name, value in settings.as_env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def anime_file(tmp_path):
    path = tmp_path / "anime.csv"
    path.write_bytes(ANIME_CSV.encode())
    return path


def _snapshot(store, ids):
    return {a: store.get_anime(a) for a in ids}


def test_catalog_load_rejections_and_idempotent_rerun(ingest_store, anime_file):
    store = ingest_store
    result = load(store, "anime", anime_file)
    assert result.status == "complete"
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 4, 2)
    assert [(r.line, r.code) for r in result.rejections] == [(5, "anime_id_not_integer"), (6, "wrong_field_count")]

    gintama, piece, steins = store.get_anime(A1), store.get_anime(A2), store.get_anime(A3)
    assert gintama["name"] == "Gintama'" and gintama["genres"] == ["Action", "Comedy", "Sci-Fi"]
    assert gintama["episodes"] == 51 and gintama["members"] == 151266
    assert gintama["rating"] == pytest.approx(9.16, abs=1e-5)
    assert piece["name"] == 'One "Piece"' and piece["episodes"] is None
    assert steins["genres"] is None and steins["type"] is None and steins["rating"] is None
    assert store.get_anime(A4)["name"] == "Fourth"

    run = last_complete_load(store, "anime")
    assert run["run_id"] == result.run_id and run["sha256"] == result.sha256
    assert (run["rows_read"], run["rows_loaded"], run["rows_rejected"]) == (6, 4, 2)
    assert run["completed_at"] is not None

    before = _snapshot(store, (A1, A2, A3, A4))
    again = load(store, "anime", anime_file)
    assert again.status == "skipped"
    forced = load(store, "anime", anime_file, force=True)
    assert forced.status == "complete" and forced.rows_loaded == 4
    assert _snapshot(store, (A1, A2, A3, A4)) == before
    assert [r["status"] for r in store.load_runs("anime")] == ["complete", "complete"]


def test_synopses_never_create_catalog_rows(ingest_store, anime_file, tmp_path):
    store = ingest_store
    load(store, "anime", anime_file)
    path = tmp_path / "syn.csv"
    path.write_text("MAL_ID,Name,Score,Genders,sypnopsis\r\n"
                    f"{A1},G,9,Action,A samurai &amp; his friends.\r\n"
                    f"{A2},P,9,Action,No synopsis has been added for this series yet.\r\n"
                    "9000999,Z,1,Drama,Not in the catalog\r\n", newline="")
    ids_before = store.anime_ids()
    result = load(store, "synopsis", path)
    assert result.rows_loaded == 1 and result.rows_skipped == 2
    assert store.get_anime(A1)["synopsis"] == "A samurai & his friends."
    assert store.get_anime(A2)["synopsis"] is None
    assert store.get_anime(9000999) is None and store.anime_ids() == ids_before


def test_ratings_last_wins_across_batches(ingest_store, tmp_path):
    store = ingest_store
    path = tmp_path / "ratings.csv"
    path.write_text("user_id,anime_id,rating\n"
                    "900001,1,5\n900001,1,6\n900002,1,7\n900001,2,8\n900001,1,9\n900002,1,-1\n"
                    "900003,3,11\n900003,x,4\n")
    result = load(store, "ratings", path, batch_rows=2)
    assert result.status == "complete" and result.rows_rejected == 2
    assert [r.line for r in result.rejections] == [8, 9]
    assert {r["anime_id"]: r["rating"] for r in store.user_ratings(900001)} == {1: 9, 2: 8}
    assert {r["anime_id"]: r["rating"] for r in store.user_ratings(900002)} == {1: -1}
    assert store.user_ratings(900003) == []


class _CrashingStore:
    """The real store, except that the n-th catalog write fails."""

    def __init__(self, store, fail_on: int):
        self._store, self._fail_on, self._n = store, fail_on, 0

    def upsert_anime(self, rows):
        self._n += 1
        if self._n >= self._fail_on:
            raise RuntimeError("simulated crash")
        return self._store.upsert_anime(rows)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_a_crash_mid_load_is_not_seen_as_complete(ingest_store, tmp_path):
    store = ingest_store
    path = tmp_path / "anime2.csv"
    path.write_text("anime_id,name,genre,type,episodes,rating,members\n"
                    + "".join(f"{9_100_000 + i},T{i},Drama,TV,1,7.0,5\n" for i in range(10)))
    previous = last_complete_load(store, "anime")
    with pytest.raises(RuntimeError, match="simulated crash"):
        load(_CrashingStore(store, fail_on=3), "anime", path, batch_rows=2)
    latest = store.load_runs("anime", limit=1)[0]
    assert latest["status"] == "failed" and latest["completed_at"] is None
    assert last_complete_load(store, "anime") == previous
    # the rerun is not skipped, and completes
    assert load(store, "anime", path).status == "complete"
    assert store.load_runs("anime", limit=1)[0]["status"] == "complete"


def test_cli_load_and_status(ingest_store, anime_file, capsys, cli_env):
    ks = ingest_store.keyspace
    assert cli.main(["load", "--keyspace", ks, "--no-progress", "--force", "--anime", str(anime_file)]) == 0
    out = capsys.readouterr().out
    assert "complete" in out and "line 5: anime_id is not an integer" in out
    assert cli.main(["load", "status", "--keyspace", ks]) == 0
    out = capsys.readouterr().out
    assert "anime: COMPLETE" in out and "ratings:" in out


def test_real_catalog_loads_completely(ingest_store, settings):
    path = settings.anime_csv
    store = ingest_store
    result = load(store, "anime", path, force=True)
    assert result.status == "complete" and result.rows_rejected == 0 and result.rows_loaded == 12_294
    with CsvParser(path, ANIME) as parser:
        ids = {r["anime_id"] for r in parser}
    assert ids <= store.anime_ids()
    assert store.get_anime(9969)["name"] == "Gintama'"
    assert store.get_anime(21)["episodes"] is None
