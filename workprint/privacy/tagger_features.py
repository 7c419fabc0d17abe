"""Tokens and their features for the PERSON/ADDRESS sequence tagger.

One function shared by training and tagging, so the model never sees features computed another
way than it was trained on. Word identity is kept only for frequent English words: a rare word
is described by its shape, its affixes and the lists it is in, so the model learns what names
and street lines *look like* rather than memorising the Faker names it was trained on.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from workprint.privacy.lexicon import (
    common_words,
    first_names,
    frequent_words,
    last_names,
    places,
    street_suffixes,
    word_set,
)

TOKEN: Final = re.compile(r"\n|[^\W_]+(?:['’](?![sS]\b)[^\W\d_]+)*|['’][sS]\b|[^\w\s]")

_HONORIFICS: Final = word_set("mr mrs ms miss dr prof sir madam mx herr frau mme mlle sr sra dott")
_STREET_WORDS: Final = word_set(
    """
    street st road rd avenue ave lane ln drive dr court ct place pl boulevard blvd way square
    terrace close crescent highway hwy parkway pkwy suite ste apt apartment unit flat floor box
    po rue via calle avenida strasse straße str weg gasse platz ul ulica vej gata gatan tie katu
    kuja utca strada viale corso piazza rua travessa plaza paseo camino laan straat gracht
    chemin allée impasse boulevard quai route
    """
)
_CUE_WORDS: Final = word_set(
    """
    name dear hi hello hey thanks thank from to cc attn contact called named by with ask
    address ship deliver live lives living moved located at send mail visit office home zip
    postcode postal city country born signed regards cheers best
    """
)
_GLUED_STREET: Final = re.compile(
    r"(?:stra(?:ss|ß)e|str|weg|gasse|platz|allee|ring|vej|gade|gata|gatan|vägen|veien|gaten|"
    r"katu|kuja|tie|polku|utca|straat|laan|gracht|plein|steeg|kollen|bulevardi)$"
)


def tokenize(text: str) -> list[tuple[int, int]]:
    """(start, end) of every word, number, punctuation mark and line break in ``text``."""
    return [m.span() for m in TOKEN.finditer(text)]


def _shape(word: str) -> str:
    """``Xxxx``-style shape with runs collapsed: ``Anna`` -> ``Xx``, ``12B`` -> ``dX``."""
    out: list[str] = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)[:6]


@lru_cache(maxsize=1 << 17)
def word_features(word: str) -> tuple[str, ...]:
    """Features of one token on its own (cached: words repeat)."""
    if word == "\n":
        return ("NL",)
    lower = word.lower()
    feats = [f"s={_shape(word)}"]
    if not word[0].isalnum():
        return (f"p={word}",)
    if word[0].isdigit():
        digits = sum(ch.isdigit() for ch in word)
        feats.append(f"nd={min(digits, 7)}")
        if not word.isdigit():
            feats.append("dmix")
        return tuple(feats)
    frequent = lower in frequent_words()
    if frequent or lower in _CUE_WORDS or lower in _STREET_WORDS:
        feats.append(f"w={lower}")
    else:
        feats.append("rare")
        feats.extend((f"s3={lower[-3:]}", f"s4={lower[-4:]}", f"p3={lower[:3]}"))
    feats.append(f"s2={lower[-2:]}")
    if len(word) == 1:
        feats.append("len1")
    title = word[0].isupper()
    bare = word if title else word.capitalize()
    if bare in first_names():
        feats.append("first")
    if bare in last_names():
        feats.append("last")
    if lower in common_words():
        feats.append("common")
    if lower in places():
        feats.append("place")
    if lower in street_suffixes() or lower in _STREET_WORDS:
        feats.append("street")
    elif _GLUED_STREET.search(lower) and len(lower) > 5:
        feats.append("gstreet")
    if lower in _HONORIFICS:
        feats.append("hon")
    return tuple(feats)


_NEAR: Final = ("s=", "w=", "first", "last", "street", "place", "hon", "NL", "p=", "nd=")
_FAR: Final = ("s=", "street", "NL", "p=", "nd=")
_OPENERS: Final = frozenset({".", "!", "?", "\n", ":", '"', "“", "(", ">", "-", "*"})


def sequence_features(text: str, spans: list[tuple[int, int]]) -> list[list[str]]:
    """Per token: its own features, those of the next word on each side, the shape of the
    second, and whether a capital is one a sentence start explains (a capitalised rare word
    in mid-sentence is a name or a place far more often than not)."""
    words = [text[s:e] for s, e in spans]
    own = [word_features(w) for w in words]
    near = [tuple(f for f in feats if f.startswith(_NEAR)) for feats in own]
    far = [tuple(f for f in feats if f.startswith(_FAR)) for feats in own]
    n = len(words)
    out: list[list[str]] = []
    for i in range(n):
        feats = list(own[i])
        opener = i == 0 or words[i - 1] in _OPENERS
        feats.append("BOS" if i == 0 else "BOL" if words[i - 1] == "\n" else "")
        if words[i][:1].isupper() and not opener:
            feats.append("midcap")
            if "rare" in own[i]:
                feats.append("midcap_rare")
        if i == n - 1:
            feats.append("EOS")
        for off, view in ((-2, far), (-1, near), (1, near), (2, far)):
            j = i + off
            if 0 <= j < n:
                feats.extend(f"{off}:{f}" for f in view[j])
            else:
                feats.append(f"{off}:none")
        out.append([f for f in feats if f])
    return out
