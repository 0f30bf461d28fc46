"""The operator dashboard's data (an ``admin`` key): the platform at a glance, a user inspector, an item
inspector and genre trends. The web app's ``/dashboard`` page draws these.

Everything here is read from where the platform already keeps it: the catalog and lists the API serves
from, the batch jobs' run history, the ranker registry, the API's own Prometheus instruments (every worker
summed), Kafka's offsets, and the tables the streaming job writes.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from flask import current_app, send_file
from flask_openapi3 import APIBlueprint, Tag

import recall
from api.auth import ADMIN, access
from api.errors import ApiError, not_found
from api.metrics import serving_summary
from api.models import AnimePath, NoQuery, PlotPath, TopK, TrendsQuery, UserPath
from api.web import ASSETS_ROUTE, PAGES
from batch.runlog import recent_runs
from evaluation.latest import evaluation_plots
from config import registry
from ingest.topics import end_offsets
from recall.serving import seen_titles, source_lists

tag = Tag(name="dashboard", description="The operator dashboard's data (an admin key)")
blueprint = APIBlueprint("dashboard", __name__, url_prefix="/admin", abp_tags=[tag])
WEB_ROUTES = {*PAGES, ASSETS_ROUTE}   # the web app's files: not the API's serving


def _resources():
    return current_app.extensions["animerec"]


class _EventRate:
    """Events per second into Kafka, from the topics' end offsets between two looks (this process's)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: tuple[float, int] | None = None

    def sample(self, settings) -> float | None:
        total = sum(end_offsets(settings).values())
        now = time.monotonic()
        with self._lock:
            last, self._last = self._last, (now, total)
        if last is None or now - last[0] < 0.5:
            return None
        return round((total - last[1]) / (now - last[0]), 1)


EVENT_RATE = _EventRate()


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def _freshness(resources) -> dict | None:
    """How long the latest event this process published took to reach Cassandra (the stream's own
    ``written_at``), or how long it has been waiting."""
    event = resources.last_published
    if event is None:
        return None
    stored = resources.store.get_event(event.user_id, event.event_id)
    if stored is None:
        return {"event_id": event.event_id, "landed": False, "waiting_ms": int(time.time() * 1000) - event.timestamp}
    written = stored["written_at"].timestamp() * 1000
    return {"event_id": event.event_id, "landed": True, "latency_ms": int(written - event.timestamp)}


@blueprint.get("/overview", summary="Counts, streaming state and lag, batch runs and list versions, ranker "
                                    "versions and their metrics, serving latency and errors per route")
@access(ADMIN)
def get_overview(query: NoQuery):
    resources = _resources()
    settings = resources.settings
    health = resources.health()
    runs = recent_runs(settings, 40)
    totals = next((r["details"] for r in runs if r.get("job") == "stats" and r.get("ok")), {})
    models = resources.models
    versions = []
    for version in reversed(models.versions()[-10:]):
        meta = models.metadata(version)
        created = meta.get("created_at")
        versions.append({"version": version, "metrics": meta.get("metrics") or {},
                         "created_at": None if created is None else _iso_ms(int(created * 1000))})
    kafka_up = health["kafka"] == "up"
    return {
        "counts": {"titles": len(resources.catalog), "ratings": totals.get("ratings"), "users": totals.get("users"),
                   "events_per_s": EVENT_RATE.sample(settings) if kafka_up else None},
        "streaming": {"state": health["streaming"], "lag": health.get("streaming_lag"),
                      "freshness": _freshness(resources) if health["cassandra"] == "up" else None},
        "batch": {"lists": {name: {"version": v, "built_at": _iso_ms(v)} for name, v in
                            (health.get("recall") or {}).items()},
                  "runs": runs},
        "ranker": {"active": models.active(), "versions": versions},
        "serving": {"routes": [r for r in serving_summary(current_app.extensions["animerec_metrics"])
                               if r["route"] not in WEB_ROUTES]},
        "dependencies": {name: health[name] for name in ("kafka", "cassandra", "streaming")},
    }


@blueprint.get("/inspect/user/<user_id>", summary="One user as the recommender sees them: ratings, recent events, "
                                                 "each recall source's candidates, the ranked result with features")
@access(ADMIN)
def inspect_user(path: UserPath, query: TopK):
    resources = _resources()
    recommender, catalog, k = resources.recommender, resources.catalog, query.k
    context = recommender.context(path.user_id, k)
    name = (lambda a: catalog.brief(a)["name"] if a in catalog else None)
    seen = seen_titles(context)
    sources = {}
    for source, ids in source_lists(context, resources.lists, k).items():
        kept = [a for a in ids if a not in seen and a in catalog][:k]
        sources[source] = [{"anime_id": a, "name": name(a), "rank": i + 1} for i, a in enumerate(kept)]
    ranked = recommender.rank(context, k, with_features=True)
    explained = recall.explain(ranked, context, resources.lists, name)
    names = recommender.schema.names
    best = sorted(context.ratings, key=lambda r: (-(r["rating"] or 0), r["anime_id"]))[:50]
    return {"user_id": path.user_id, "model_version": recommender.model_version, "feature_names": names,
            "ratings": [{"anime_id": r["anime_id"], "name": name(r["anime_id"]), "rating": r["rating"]} for r in best],
            "rating_count": len(context.ratings),
            "history": [{**(catalog.brief(e["anime_id"]) if e["anime_id"] in catalog else {"anime_id": e["anime_id"]}),
                         "kind": e["kind"], "ts": e["ts"].isoformat()} for e in context.recent[:20]],
            "sources": sources,
            "ranked": [{"anime_id": item["anime_id"], "name": name(item["anime_id"]), "score": item["score"],
                        "source": item["source"], "reason": item["reason"], "ranks": item["ranks"],
                        "features": {n: round(float(v), 4) for n, v in zip(names, item.get("features", ())) if v}}
                       for item in explained]}


@blueprint.get("/inspect/anime/<anime_id>", summary="A title's neighbours by each similarity signal, as a network "
                                                   "(nodes, and links between every pair of them a signal joins)")
@access(ADMIN)
def inspect_anime(path: AnimePath, query: TopK):
    resources = _resources()
    catalog, lists, k = resources.catalog, resources.lists, min(query.k, 30)
    if path.anime_id not in catalog:
        raise not_found("anime", path.anime_id)
    around = lists.neighbours([path.anime_id], k)[path.anime_id]
    signals = {signal: [{"anime_id": a, "name": catalog.brief(a)["name"], "score": round(float(s), 4)}
                        for a, s in rows[:k] if a in catalog] for signal, rows in around.items()}
    members = [path.anime_id, *dict.fromkeys(r["anime_id"] for rows in signals.values() for r in rows)]
    inside = set(members)
    links, joined = [], set()
    for source, by_signal in lists.neighbours(members, k).items():
        for signal, rows in by_signal.items():
            for target, score in rows[:k]:
                pair = (min(source, target), max(source, target), signal)
                if target in inside and target != source and pair not in joined:
                    joined.add(pair)
                    links.append({"source": source, "target": target, "signal": signal, "score": round(float(score), 4)})
    nodes = [{"id": a, "name": catalog.brief(a)["name"], "genre": (catalog.brief(a)["genres"] or ["?"])[0],
              "center": a == path.anime_id} for a in members]
    return {"anime": catalog.brief(path.anime_id), "signals": signals, "nodes": nodes, "links": links}


@blueprint.get("/trends/genres", summary="Events per genre per day (UTC) from the stream, the most active genres")
@access(ADMIN)
def genre_trends(query: TrendsQuery):
    today = int(time.time() // 86_400)
    days = list(range(today - query.days + 1, today + 1))
    rows = _resources().store.genre_activity(days)
    per_genre: dict[str, dict[int, int]] = {}
    for row in rows:
        per_genre.setdefault(row["genre"], {})[row["day"]] = row["events"]
    top = sorted(per_genre, key=lambda g: (-sum(per_genre[g].values()), g))[:query.top]
    return {"days": [datetime.fromtimestamp(d * 86_400, tz=timezone.utc).date().isoformat() for d in days],
            "series": {g: [per_genre[g].get(d, 0) for d in days] for g in top}}


@blueprint.get("/plots/<name>", summary="A plot of the latest offline evaluation (PNG)")
@access(ADMIN)
def get_plot(path: PlotPath, query: NoQuery):
    file = evaluation_plots(_resources().settings).get(path.name)
    if file is None:
        raise ApiError(404, f"no evaluation plot {path.name}")
    return send_file(file, mimetype="image/png", max_age=60)
