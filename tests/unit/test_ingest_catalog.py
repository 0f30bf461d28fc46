"""The loaders and the CLI against an in-memory stand-in for the store (no services needed)."""
from __future__ import annotations

import io

import pytest
from ingest import __main__ as cli
from ingest.catalog import last_complete_load, load, load_many
from ingest.csv_rows import FormatError
from store import StoreUnavailable

ANIME_CSV = ("anime_id,name,genre,type,episodes,rating,members\r\n"
             "1,A &amp; B,\"Drama, Comedy\",TV,12,8.5,100\r\n"
             "2,Second,,,Unknown,,\r\n"
             "x,Broken,Drama,TV,1,7.0,5\r\n"
             "1,A &amp; B (fixed),Drama,TV,13,8.6,101\r\n")


class FakeStore:
    """Just enough of the store interfaces for the loaders, recording the order of calls."""

    def __init__(self, fail_on_write: int | None = None, transient_failures: int = 0):
        self.anime: dict[int, dict] = {}
        self.ratings: dict[tuple[int, int], int] = {}
        self.runs: dict = {}
        self.calls: list[str] = []
        self.writes = 0
        self.fail_on_write = fail_on_write
        self.transient_failures = transient_failures

    def _write(self, what: str) -> None:
        self.writes += 1
        if self.transient_failures:
            self.transient_failures -= 1
            raise StoreUnavailable("simulated timeout")
        if self.fail_on_write is not None and self.writes >= self.fail_on_write:
            raise RuntimeError("simulated crash")
        self.calls.append(what)

    def upsert_anime(self, rows):
        rows = list(rows)
        self._write("anime")
        for r in rows:
            self.anime[r["anime_id"]] = {**self.anime.get(r["anime_id"], {}), **r}
        return len(rows)

    def set_synopses(self, pairs):
        pairs = list(pairs)
        self._write("synopsis")
        for a, s in pairs:
            self.anime.setdefault(a, {})["synopsis"] = s
        return len(pairs)

    def upsert_ratings_batched(self, rows, updated_at=None):
        rows = list(rows)
        keys = [(u, a) for u, a, _ in rows]
        assert len(keys) == len(set(keys)), "a key repeats within one call"
        self._write("ratings")
        for u, a, r in rows:
            self.ratings[(u, a)] = r
        return len(rows)

    def anime_ids(self):
        return set(self.anime)

    def record_load_run(self, run):
        self.calls.append(f"run:{run['status']}")
        self.runs[run["run_id"]] = dict(run)

    def load_runs(self, dataset, limit=10):
        runs = [r for r in self.runs.values() if r["dataset"] == dataset]
        runs.sort(key=lambda r: r["run_id"].time, reverse=True)
        full = [{c: r.get(c) for c in ("dataset", "run_id", "file_name", "sha256", "status", "rows_read",
                                       "rows_loaded", "rows_rejected", "rows_skipped", "started_at",
                                       "completed_at", "seconds", "error")} for r in runs]
        return full[:limit]


@pytest.fixture
def anime_file(tmp_path):
    path = tmp_path / "anime.csv"
    path.write_bytes(ANIME_CSV.encode())
    return path


def test_catalog_load_last_row_wins_and_rejects_are_reported(anime_file):
    store = FakeStore()
    result = load(store, "anime", anime_file, batch_rows=2)
    assert result.status == "complete" and result.ok
    assert result.rows_read == 4 and result.rows_rejected == 1 and result.rows_loaded == 3
    assert [(r.line, r.code) for r in result.rejections] == [(4, "anime_id_not_integer")]
    assert store.anime[1]["name"] == "A & B (fixed)" and store.anime[1]["episodes"] == 13
    assert store.anime[2] == {"anime_id": 2, "name": "Second", "genres": None, "type": None, "episodes": None,
                              "rating": None, "members": None}
    # the manifest: 'running' before the first write, 'complete' after the last one
    assert store.calls[0] == "run:running" and store.calls[-1] == "run:complete"
    run = last_complete_load(store, "anime")
    assert run["rows_loaded"] == 3 and run["rows_rejected"] == 1 and run["completed_at"] is not None
    assert run["file_name"].endswith("anime.csv") and len(run["sha256"]) == 64


def test_rerun_of_the_same_file_is_skipped_and_forced_rerun_changes_nothing(anime_file):
    store = FakeStore()
    load(store, "anime", anime_file)
    before = {k: dict(v) for k, v in store.anime.items()}
    again = load(store, "anime", anime_file)
    assert again.status == "skipped" and again.rows_loaded == 0 and "already loaded" in again.warnings[0]
    forced = load(store, "anime", anime_file, force=True)
    assert forced.status == "complete" and store.anime == before


def test_changed_file_is_loaded_again(anime_file):
    store = FakeStore()
    load(store, "anime", anime_file)
    anime_file.write_bytes(ANIME_CSV.encode() + b"3,Third,Drama,TV,1,7.0,5\r\n")
    result = load(store, "anime", anime_file)
    assert result.status == "complete" and 3 in store.anime


def test_ratings_duplicates_last_wins_within_and_across_batches():
    text = "user_id,anime_id,rating\n1,10,5\n1,10,6\n2,10,7\n1,11,8\n1,10,9\n2,10,-1\n3,12,4\n"
    store = FakeStore()
    result = load(store, "ratings", io.BytesIO(text.encode()), batch_rows=3)
    assert store.ratings == {(1, 10): 9, (2, 10): -1, (1, 11): 8, (3, 12): 4}
    assert result.rows_read == 7 and result.rows_loaded == 6 and result.duplicates == 1
    assert result.sha256 is not None  # hashed while streaming


def test_a_crash_mid_load_never_looks_complete(anime_file):
    store = FakeStore()
    first = load(store, "anime", anime_file)
    crashing = FakeStore(fail_on_write=2)
    crashing.runs = dict(store.runs)
    crashing.anime = dict(store.anime)
    anime_file.write_bytes(ANIME_CSV.encode() + b"3,Third,Drama,TV,1,7.0,5\r\n")
    with pytest.raises(RuntimeError, match="simulated crash"):
        load(crashing, "anime", anime_file, batch_rows=1)
    latest = crashing.load_runs("anime", limit=1)[0]
    assert latest["status"] == "failed" and "simulated crash" in latest["error"] and latest["completed_at"] is None
    assert last_complete_load(crashing, "anime")["run_id"] == first.run_id
    # ...and a re-run after the crash loads the file, it is not skipped
    crashing.fail_on_write = None
    assert load(crashing, "anime", anime_file).status == "complete"


def test_transient_write_errors_are_retried(anime_file, monkeypatch):
    monkeypatch.setattr("ingest.catalog.RETRY_BACKOFF_S", 0.0)
    store = FakeStore(transient_failures=2)
    result = load(store, "anime", anime_file, retries=3)
    assert result.status == "complete" and len(store.anime) == 2


def test_a_store_that_stays_unavailable_fails_the_load_after_the_retries(anime_file, monkeypatch):
    monkeypatch.setattr("ingest.catalog.RETRY_BACKOFF_S", 0.0)
    store = FakeStore(transient_failures=10)
    with pytest.raises(StoreUnavailable):
        load(store, "anime", anime_file, retries=2)
    assert store.writes == 3 and store.anime == {}
    [run] = store.load_runs("anime")
    assert run["status"] == "failed" and "StoreUnavailable" in run["error"]


def test_synopses_only_for_titles_in_the_catalog():
    store = FakeStore()
    store.anime = {1: {"anime_id": 1}, 2: {"anime_id": 2}}
    text = ("MAL_ID,Name,Score,Genders,sypnopsis\n1,A,1,D,First &amp; best\n"
            "2,B,1,D,No synopsis has been added for this series yet.\n99,Z,1,D,Orphan\n")
    result = load(store, "synopsis", io.StringIO(text))
    assert store.anime[1]["synopsis"] == "First & best"
    assert "synopsis" not in store.anime[2] and 99 not in store.anime
    assert result.rows_loaded == 1 and result.rows_skipped == 2
    assert result.skipped == {"no synopsis text (empty or placeholder)": 1, "title not in the catalog": 1}


def test_ratings_for_unknown_titles_are_loaded_with_a_note():
    store = FakeStore()
    store.anime = {10: {"anime_id": 10}}
    result = load(store, "ratings", ["user_id,anime_id,rating", "1,10,5", "1,11,6"])
    assert store.ratings == {(1, 10): 5, (1, 11): 6}
    assert any("not in the catalog" in w for w in result.warnings)


def test_unusable_file_writes_nothing(tmp_path):
    store = FakeStore()
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,anime_id,rating\n1,2,3\n")
    with pytest.raises(FormatError):
        load(store, "anime", bad)
    assert store.calls == [] and store.runs == {}
    results = load_many(store, {"anime": bad, "ratings": bad})
    assert [(r.dataset, r.status) for r in results] == [("anime", "unusable"), ("ratings", "complete")]


def test_dry_run_needs_no_store(anime_file):
    result = load(None, "anime", anime_file, dry_run=True)
    assert result.status == "checked" and result.rows_read == 4 and result.rows_rejected == 1


# --- CLI ----------------------------------------------------------------------------------------

def test_cli_dry_run_summary_lists_bad_rows(anime_file, capsys):
    code = cli.main(["load", "--dry-run", "--no-progress", "--anime", str(anime_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert "anime" in out and "checked" in out
    assert "1 rejected row(s) (anime_id_not_integer 1)" in out and "line 4: anime_id is not an integer" in out


def test_cli_lists_first_n_rejects_with_a_count(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("user_id,anime_id,rating\n" + "".join(f"1,{i},99\n" for i in range(1, 31)))
    assert cli.main(["load", "--dry-run", "--no-progress", "--ratings", str(path), "--show-rejects", "3"]) == 0
    out = capsys.readouterr().out
    assert "line 2: rating 99" in out and "line 4: rating 99" in out and "line 5:" not in out
    assert "... and 27 more" in out


@pytest.mark.parametrize("content", [None, "", "a,b,c\n1,2,3\n"], ids=["missing", "empty", "wrong-header"])
def test_cli_unusable_file_exits_non_zero(tmp_path, capsys, content):
    path = tmp_path / "x.csv"
    if content is not None:
        path.write_text(content)
    assert cli.main(["load", "--dry-run", "--no-progress", "--ratings", str(path)]) == 2
    assert "UNUSABLE" in capsys.readouterr().out
