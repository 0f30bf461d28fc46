"""How text becomes search terms: Unicode-normalised, accents and control characters dropped, lower case,
runs of letters and digits, minus a short list of English stop words."""
from __future__ import annotations

import re
import unicodedata

STOPWORDS = frozenset("""a an the of and or in on to is it its his her their them they he she who whom with for as
at by from that this these those be been are was were has have had into than then so but not no
one ones s""".split())
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without accents: 'Pokémon' -> 'pokemon'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """The search terms of ``text``, in order (stop words left out)."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]
