"""/talk: recommendations from a sentence. The request is understood by rules (search/talk.py), then titles
come, in this order, from those like the titles it names, a hybrid search (words and meaning) of its free words, the user's own
recommendations, and what is popular in the genres it asks for; each kept only when it fits every constraint.
The answer says how the request was understood, and a conversation id carries it to the next turn."""
from __future__ import annotations

import uuid

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

import recall
from api.auth import Access, access, principal, require_own
from api.errors import ApiError
from api.models import TalkIn, TalkPath, TalkQuery
from config.registry import MEANING
from recall.popularity import GENRE_PREFIX
from search import Understood, understand

tag = Tag(name="talk", description="Recommendations from a request in plain words")
blueprint = APIBlueprint("talk", __name__, abp_tags=[tag])
DEPTH = 100      # candidates read per source before the constraints filter them


def _resources():
    return current_app.extensions["animerec"]


@blueprint.get("/talk/<user_id>/<message>", summary="Recommendations for a request in plain words, with how it "
                                                    "was understood")
@access(Access(roles=("reader",), own="user_id"))
def get_talk(path: TalkPath, query: TalkQuery):
    return talk(path.user_id, path.message, query.conversation_id, query.k)


@blueprint.post("/talk", summary="The same, for the web app: JSON in, and the signed-in viewer's own user id")
@access(Access(roles=("reader",), own="body"))
def post_talk(body: TalkIn):
    user_id = body.user_id if body.user_id is not None else principal().user_id
    if user_id is None:
        raise ApiError(400, "invalid request: user_id is required with an API key", field="user_id")
    require_own([user_id])
    return talk(user_id, body.message, body.conversation_id, body.k)


def talk(user_id: int, message: str, conversation_id: str | None, k: int) -> dict:
    resources = _resources()
    catalog, index, store = resources.catalog, resources.searcher().keyword, resources.store
    before = store.last_turn(conversation_id) if conversation_id else None
    previous = Understood.from_dict(before["turn"]) if before and before["user_id"] == user_id else None
    episodes = catalog.episode_counts
    understood = understand(message, index.names, index.ids, index.popularity, episodes, catalog.genres, previous)
    conversation_id = conversation_id or uuid.uuid4().hex
    store.save_turn(conversation_id, user_id, understood.as_dict())
    context = resources.recommender.context(user_id, DEPTH)   # read once: the user's list and what they rated
    items = _pick(context, understood, k, episodes)
    return {"conversation_id": conversation_id, "reply": _reply(understood, len(items), catalog),
            "understood": {**understood.as_dict(),
                           "titles": [catalog.brief(t) for t in understood.titles if t in catalog]},
            "items": items}


def _candidates(context, understood: Understood):
    """``(anime_id, reason)`` from each source, best first, sources in order of how directly they answer."""
    resources = _resources()
    catalog, lists = resources.catalog, resources.lists
    for title in understood.titles:
        name = catalog.brief(title)["name"] if title in catalog else f"title {title}"
        for row in recall.similar(lists, title, DEPTH):
            yield row["anime_id"], f"Like {name}"
    if understood.words:
        for hit in resources.searcher().search(understood.words, DEPTH, "hybrid").hits:
            yield hit["anime_id"], _why_found(hit["matched"], understood.words)
    ranked = recall.explain(resources.recommender.rank(context, DEPTH), context, lists,
                            lambda a: catalog.brief(a)["name"] if a in catalog else None)
    for item in ranked:
        yield item["anime_id"], item["reason"]
    for genre in understood.genres or [None]:
        segment = "all" if genre is None else GENRE_PREFIX + genre
        for anime_id in lists.popular(DEPTH * 3, segment=segment):
            yield anime_id, f"Popular in {genre} right now" if genre else "Popular right now"


def _why_found(matched: list[str], words: str) -> str:
    said = [m for m in matched if m != MEANING]
    if said and MEANING in matched:
        return f"Its {', '.join(said)} matches “{words}”, and its story is close in meaning"
    if said:
        return f"Its {', '.join(said)} matches “{words}”"
    return f"Its story is close in meaning to “{words}”"


def _fits(anime_id: int, understood: Understood, catalog, episodes: dict, seen: set[int]) -> bool:
    if anime_id not in catalog or anime_id in seen or anime_id in understood.titles:
        return False
    genres = set(catalog.genres_of(anime_id))
    if not set(understood.genres) <= genres or genres & set(understood.exclude_genres):
        return False
    if understood.type and catalog.brief(anime_id)["type"] != understood.type:
        return False
    count = episodes.get(anime_id)
    if understood.max_episodes is not None and (count is None or count > understood.max_episodes):
        return False
    return understood.min_episodes is None or (count is not None and count >= understood.min_episodes)


def _pick(context, understood: Understood, k: int, episodes: dict) -> list[dict]:
    catalog = _resources().catalog
    seen = {int(r["anime_id"]) for r in context.ratings}
    picked: dict[int, str] = {}
    for anime_id, reason in _candidates(context, understood):
        if anime_id not in picked and _fits(anime_id, understood, catalog, episodes, seen):
            picked[anime_id] = reason
            if len(picked) >= k:
                break
    return [{**catalog.brief(a), "episodes": episodes.get(a), "reason": reason} for a, reason in picked.items()]


def _reply(understood: Understood, found: int, catalog) -> str:
    parts = []
    if understood.titles:
        parts.append("like " + " and ".join(catalog.brief(t)["name"] for t in understood.titles if t in catalog))
    if understood.genres:
        parts.append("in " + " and ".join(understood.genres))
    if understood.max_episodes is not None:
        parts.append(f"at most {understood.max_episodes} episode{'s' if understood.max_episodes != 1 else ''}")
    if understood.min_episodes is not None:
        parts.append(f"at least {understood.min_episodes} episodes")
    if understood.exclude_genres:
        parts.append("without " + " or ".join(understood.exclude_genres))
    if understood.words:
        parts.append(f"about “{understood.words}”")
    what = (understood.type.lower() + "s") if understood.type == "Movie" else "titles"
    asked = f" {what} " + ", ".join(parts) if parts else f" {what} for you"
    if not found:
        return f"I found no{asked}. Try fewer constraints."
    return f"Here {'is' if found == 1 else 'are'} {found}{asked}."
