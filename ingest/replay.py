"""Replay: a ratings file (Kaggle format) as a timestamped stream of views, clicks and ratings.

The ratings data has no timestamps, so the replay invents them on a documented, seeded clock:

* every user starts at ``start_ms`` plus a uniform offset within ``span_days`` (the CLI's default
  instead shifts the whole stream to end at the current time, :func:`ending_at`: replayed history
  up to now, so nothing lands in the future of a real click and the 1 h/24 h windows hold its tail);
* a user watches their rated titles in a random order (seeded), in sessions: a new session begins
  before a title with probability ``1 / titles_per_session``; titles in a session are an
  exponential ``gap_in_session_s`` apart, sessions an exponential ``gap_between_sessions_h`` apart;
* each rated title gives a **view** at its time; a **click** ``click_after_s`` later for a share
  of them (``click_share`` scaled by the rating: a liked title is clicked more often; a rating of -1,
  watched without a score, counts as 7); and the **rating** itself ``rating_after_min`` after the view.

Event ids are derived from (seed, user, title, kind): replaying the same file again publishes the
same ids, which the streaming job stores and counts once. The same seed gives the same stream.
The stream is the load generator of the benchmarks, the training data of the ranker and the input
of the freshness tests.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.events import Event

COLUMNS = ("event_id", "kind", "user_id", "anime_id", "timestamp", "rating")


@dataclass(frozen=True)
class Clock:
    seed: int = 7
    start_ms: int = 1_735_689_600_000          # 2025-01-01T00:00Z
    span_days: float = 28.0
    titles_per_session: float = 4.0
    gap_in_session_s: float = 150.0
    gap_between_sessions_h: float = 12.0
    click_share: float = 0.35
    click_after_s: float = 20.0
    rating_after_min: float = 25.0


def ending_at(events: pd.DataFrame, end_ms: int) -> pd.DataFrame:
    """``events`` moved in time so that the last one is at ``end_ms`` (ids are not derived from times)."""
    if events.empty:
        return events
    return events.assign(timestamp=events["timestamp"] + (end_ms - int(events["timestamp"].max())))


def replay_events(ratings: pd.DataFrame, clock: Clock = Clock()) -> pd.DataFrame:
    """Every event of the replay, ordered by time: ``event_id, kind, user_id, anime_id, timestamp, rating``.

    ``ratings`` has ``user_id, anime_id, rating`` (-1 or 1..10), as :func:`ingest.frames.read_ratings` reads it.
    """
    rng = np.random.default_rng(clock.seed)
    frame = ratings[["user_id", "anime_id", "rating"]].reset_index(drop=True)
    n = len(frame)
    order = np.lexsort((rng.random(n), frame["user_id"].to_numpy()))   # per user, a random watch order
    frame = frame.iloc[order].reset_index(drop=True)
    users = frame["user_id"].to_numpy()
    first = np.r_[True, users[1:] != users[:-1]]
    new_session = first | (rng.random(n) < 1.0 / clock.titles_per_session)
    gaps = np.where(new_session, rng.exponential(clock.gap_between_sessions_h * 3600_000, n),
                    rng.exponential(clock.gap_in_session_s * 1000, n))
    gaps[first] = 0.0
    unique_users, starts_at = np.unique(users, return_index=True)
    user_start = clock.start_ms + rng.uniform(0, clock.span_days * 86_400_000, len(unique_users))
    cumulative = np.cumsum(gaps)
    base = cumulative[starts_at]                                        # per user: cumsum before their first title
    group = np.searchsorted(starts_at, np.arange(n), side="right") - 1
    view_at = (user_start[group] + cumulative - base[group]).astype(np.int64)

    score = frame["rating"].to_numpy()
    liked = np.where(score < 0, 7, score)
    clicked = rng.random(n) < np.clip(clock.click_share * liked / 7.0, 0.0, 1.0)
    click_at = view_at + (rng.exponential(clock.click_after_s * 1000, n) + 1).astype(np.int64)
    rating_at = view_at + int(clock.rating_after_min * 60_000)

    anime = frame["anime_id"].to_numpy()
    parts = [("view", np.ones(n, bool), view_at, None), ("click", clicked, click_at, None),
             ("rating", np.ones(n, bool), rating_at, score)]
    out = []
    for kind, mask, at, rating in parts:
        ids = pd.Series(users[mask]).astype(str) + "-" + pd.Series(anime[mask]).astype(str)
        out.append(pd.DataFrame({
            "event_id": f"r{clock.seed}-{kind[0]}-" + ids,
            "kind": kind, "user_id": users[mask].astype(np.int64), "anime_id": anime[mask].astype(np.int64),
            "timestamp": at[mask],
            "rating": pd.array(rating[mask], dtype="Int64") if rating is not None else pd.array([None] * int(mask.sum()),
                                                                                              dtype="Int64")}))
    events = pd.concat(out, ignore_index=True)
    return events.sort_values(["timestamp", "event_id"], kind="stable").reset_index(drop=True)[list(COLUMNS)]


def as_events(frame: pd.DataFrame, genres_of: Callable[[int], list[str]]) -> Iterator[Event]:
    """The rows of :func:`replay_events` as :class:`Event`s, each with its title's genres."""
    ratings = frame["rating"].astype(object).where(frame["rating"].notna(), None).tolist()
    for event_id, kind, user, anime, ts, rating in zip(frame["event_id"].tolist(), frame["kind"].tolist(),
                                                        frame["user_id"].tolist(), frame["anime_id"].tolist(),
                                                        frame["timestamp"].tolist(), ratings):
        yield Event.model_construct(event_id=event_id, kind=kind, user_id=user, anime_id=anime, timestamp=ts,
                                    rating=rating, genres=genres_of(anime))


def genre_lookup(catalog: pd.DataFrame) -> Callable[[int], list[str]]:
    """``anime_id -> genres`` from a catalog frame (:func:`ingest.frames.read_anime`)."""
    table: Mapping[int, list[str]] = {int(a): list(g or []) for a, g in zip(catalog["anime_id"], catalog["genres"])}
    return lambda anime_id: table.get(anime_id, [])


class Pacer:
    """Spaces calls to ``rate`` per second (None: as fast as possible)."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self.next = time.perf_counter()

    def wait(self) -> None:
        if not self.interval:
            return
        self.next += self.interval
        delay = self.next - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


def publish(events: Iterable[Event], send: Callable[[Event], None], rate: float | None = None,
            progress=None) -> int:
    """Send each event through ``send`` at ``rate`` per second; return how many were sent."""
    pacer, sent = Pacer(rate), 0
    for event in events:
        pacer.wait()
        send(event)
        sent += 1
        if progress is not None:
            progress.update(1)
    return sent
