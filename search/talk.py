"""Understanding a request in plain words ("something like Death Note but shorter", "a funny sports anime",
"no more mecha please"): the titles it names, the genres it wants and refuses, a type and a length.

Deterministic rules, no language model: genre words and their everyday synonyms, negations ("no", "not",
"without", "except", "no more"), length words ("short", "shorter", "tonight", "long"), types ("movie",
"series"), and titles found by fuzzy matching of the words after "like", "similar to", "as good as" (rapidfuzz
over the catalog's names, the most popular of equally good matches). A previous turn's request carries over:
what this one says replaces or adds to it ("shorter than that").
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from rapidfuzz import fuzz, process, utils

from search.text import fold, tokens

# Everyday words for the catalog's genres (the genres' own names are understood as well).
GENRE_WORDS = {
    "funny": "Comedy", "comedy": "Comedy", "hilarious": "Comedy", "laugh": "Comedy", "comedies": "Comedy",
    "sad": "Drama", "emotional": "Drama", "tearjerker": "Drama", "cry": "Drama", "dramatic": "Drama",
    "scary": "Horror", "creepy": "Horror", "horror": "Horror", "romantic": "Romance", "love": "Romance",
    "romance": "Romance", "sport": "Sports", "sports": "Sports", "mecha": "Mecha", "robot": "Mecha",
    "robots": "Mecha", "mechs": "Mecha", "fighting": "Action", "action": "Action", "detective": "Mystery",
    "mystery": "Mystery", "space": "Space", "magic": "Magic", "wizard": "Magic", "school": "School",
    "relaxing": "Slice of Life", "chill": "Slice of Life", "cozy": "Slice of Life", "music": "Music",
    "band": "Music", "ghost": "Supernatural", "ghosts": "Supernatural", "supernatural": "Supernatural",
    "scifi": "Sci-Fi", "sci": "Sci-Fi", "fantasy": "Fantasy", "psychological": "Psychological",
    "thriller": "Thriller", "samurai": "Samurai", "vampire": "Vampire", "vampires": "Vampire",
    "historical": "Historical", "military": "Military", "war": "Military", "cooking": "Gourmet",
    "food": "Gourmet", "idol": "Music", "game": "Game", "games": "Game",
}
TYPE_WORDS = {"movie": "Movie", "movies": "Movie", "film": "Movie", "films": "Movie", "series": "TV",
              "show": "TV", "shows": "TV", "tv": "TV", "ova": "OVA", "ona": "ONA", "special": "Special"}
NEGATIONS = ("no more", "no", "not", "without", "except", "nothing", "none", "avoid", "skip", "hate")
SHORT_EPISODES, TONIGHT_EPISODES = 13, 3
TITLE_CUES = re.compile(r"\b(?:like|similar to|such as|as good as|reminds me of|in the vein of)\s+(.+?)"
                        r"(?=\s+(?:but|and|with|without|that|which|only|except|please)\b|[,.;!?]|$)")
NEGATED = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in NEGATIONS) + r")\s+((?:\w+[\s-]?){1,3})")
TITLE_CUTOFF = 88


@dataclass
class Understood:
    """What a message asks for: the titles it refers to (anime ids), genres wanted and refused, a type,
    episode bounds, and the words left for a search of the free text."""

    titles: list[int] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    exclude_genres: list[str] = field(default_factory=list)
    type: str | None = None
    max_episodes: int | None = None
    min_episodes: int | None = None
    words: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping | None) -> "Understood":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


def _genre_of(word: str, genres: Mapping[str, str]) -> str | None:
    return GENRE_WORDS.get(word) if GENRE_WORDS.get(word) in genres.values() else genres.get(word)


def understand(message: str, names: Sequence[str], ids: Sequence[int], popularity: Sequence[float],
               episodes: Mapping[int, int | None], catalog_genres: Sequence[str],
               before: Understood | None = None) -> Understood:
    """The request in ``message`` (``names``/``ids``/``popularity``: the catalog's titles, aligned;
    ``episodes``: a title's episode count), on top of the previous turn's (``before``)."""
    text = fold(" ".join(message.split()))
    genres = {fold(g).replace(" ", "").replace("-", ""): g for g in catalog_genres}
    genres.update({fold(g): g for g in catalog_genres})
    out = Understood.from_dict(before.as_dict() if before else None)

    mentioned = _titles(text, names, ids, popularity)
    if mentioned:
        out.titles = mentioned
    refused = set()
    for phrase in NEGATED.findall(text):
        for word in re.findall(r"[a-z0-9-]+", phrase):
            genre = _genre_of(word.replace("-", ""), genres) or genres.get(word)
            if genre:
                refused.add(genre)
                break
    wanted = []
    for word in re.findall(r"[a-z0-9-]+", text):
        genre = _genre_of(word.replace("-", ""), genres)
        if genre and genre not in refused and genre not in wanted:
            wanted.append(genre)
    if "slice of life" in text and "Slice of Life" not in refused:
        wanted.append("Slice of Life")
    if wanted:
        out.genres = list(dict.fromkeys(g for g in wanted if g in catalog_genres))
    out.genres = [g for g in out.genres if g not in refused]
    out.exclude_genres = sorted((set(out.exclude_genres) | refused) - set(wanted))
    kinds = [TYPE_WORDS[w] for w in re.findall(r"[a-z]+", text) if w in TYPE_WORDS]
    if kinds:
        out.type = kinds[0]
    _length(text, out, episodes)
    out.words = _free_words(TITLE_CUES.sub(" ", text) if mentioned else text, genres)
    return out


def _titles(text: str, names: Sequence[str], ids: Sequence[int], popularity: Sequence[float]) -> list[int]:
    found = []
    for phrase in TITLE_CUES.findall(text):
        phrase = re.sub(r"^(?:the|a|an)\s+", "", phrase.strip())
        if len(phrase) < 3:
            continue
        matches = process.extract(phrase, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=15,
                                  score_cutoff=TITLE_CUTOFF)
        if matches:
            best = max(matches, key=lambda m: (round(m[1]), popularity[m[2]]))
            found.append(int(ids[best[2]]))
    return list(dict.fromkeys(found))


def _length(text: str, out: Understood, episodes: Mapping[int, int | None]) -> None:
    reference = [episodes.get(t) for t in out.titles if episodes.get(t)]
    if re.search(r"\bshorter\b", text):    # than the titles named, and than the last turn's bound
        bounds = [*reference, *([out.max_episodes] if out.max_episodes else [])] or [SHORT_EPISODES + 1]
        out.max_episodes, out.min_episodes = max(min(bounds) - 1, 1), None
    elif re.search(r"\b(?:short|quick|brief)\b", text):
        out.max_episodes, out.min_episodes = SHORT_EPISODES, None
    elif re.search(r"\btonight\b", text):
        out.max_episodes, out.min_episodes = TONIGHT_EPISODES, None
    if re.search(r"\blonger\b", text):
        out.min_episodes, out.max_episodes = (max(reference) + 1 if reference else (out.min_episodes or 24) + 1), None
    elif re.search(r"\b(?:long|epic)\b", text):
        out.min_episodes, out.max_episodes = 24, None


_FILLER = frozenset("""something anything some want wanna watch watching see please recommend recommendation
recommendations me i im i'm what should could would give show find tonight like similar to but more less shorter
longer short long anime one ones kind sort good great best new""".split())


def _free_words(text: str, genres: Mapping[str, str]) -> str:
    """The words left to search the synopses with: the message without filler, genre and length words."""
    words = [w for w in tokens(text) if w not in _FILLER and w not in GENRE_WORDS and w not in genres
             and w not in TYPE_WORDS and w not in NEGATIONS]
    return " ".join(words)
