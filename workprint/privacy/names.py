"""PERSON without a model: capitalised runs, name gazetteers, honorifics and context cues.

A run of capitalised words on one line is cut at everyday words and at words that say it is
something else (months, company, place and product words). A piece is a name when the words
before it say so ("Dear …", "Mr …", "my name is …", "From: …", "Cardholder: …"), when a weaker
cue ("with", "by", "thanks") meets a gazetteer hit, or with no cue when it starts with a known
given name, holds a known or family-name-shaped surname, has an initial in the middle, stands
on a line of its own, opens a line as an address ("Kuba, can you …") or is the subject of a
verb only people do ("Ravi said"). The names found then pull in their neighbours ("Park and
Mann") and their parts are found again elsewhere in the text. Lower-case names are taken after
a strong cue, or as given name + family name in text with no capitals at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Final

from workprint.privacy.lexicon import (
    common_words,
    compound_of_words,
    first_names,
    frequent_words,
    last_names,
    places,
    word_set,
)
from workprint.privacy.name_rules import (
    HONORIFICS,
    LOWER_AFTER_CUE,
    LOWER_CUE_HINTS,
    LOWER_PAIR,
    MENTION,
    RUN,
    TOKEN,
    is_blocker,
    org_list_members,
    possessive,
    rare_name_context,
    sentence_start,
    speech_after,
    strong_cue,
    subject_of_verb,
    surname_shaped,
    weak_cue,
)
from workprint.privacy.spans import EntityType, Span

Token = tuple[int, int, str]  # start, end, kind


_NAME_CASE: Final = re.compile(
    r"(?:Mc|Mac|O['’]|D['’]|Le|La|De|Di|Du|Van|Von)?[^\W\d_][^\W\d_A-Z]*['’]?[^\W\d_A-Z]*"
)


def _name_cased(word: str) -> bool:
    """Cased like a name: no capitals inside but after Mc/O'/Le/Di... ("OpenCUA", "NumPy",
    "PostgreSQL" are products); of a hyphenated word, no part is an everyday word
    ("Content-Encoding")."""
    parts = word.split("-")
    if len(parts) > 1 and any(p.lower() in frequent_words() or not p[:1].isupper() for p in parts):
        return False
    return all(_NAME_CASE.fullmatch(p) for p in parts)


@lru_cache(maxsize=1 << 16)
def kind_of(token: str) -> str:
    """``F``/``L``/``N`` gazetteer hit (given, family, both), ``c`` everyday word that is also
    a name, ``C`` everyday word, ``B`` blocker, ``H`` honorific, ``I`` initial, ``P`` lower-case
    particle, ``A`` unknown all-caps word, ``R`` unknown capitalised word that is rare in
    English (an unlisted name, or a made-up firm name), ``O`` other unknown capitalised word."""
    bare = token.rstrip(".")
    if len(bare) == 1 and bare.isupper():
        return "I"
    lower = bare.lower()
    if re.search(r"['’](?:m|ll|ve|d|re|t)$", lower):
        return "C"  # I'm, I'll, Don't
    if lower in HONORIFICS:
        return "H"
    if not token[0].isupper():
        return "P"
    if is_blocker(lower):
        return "B"
    key = bare.title() if bare.isupper() and len(bare) > 2 else bare
    first, last = key in first_names(), key in last_names()
    if lower in common_words():
        return "c" if first or last else "C"
    if first and last:
        return "N"
    if first:
        return "F"
    if last or surname_shaped(bare):
        return "L"
    if bare.isupper():
        return "A"
    if (
        len(bare) >= 3
        and _name_cased(bare)
        and lower not in frequent_words()
        and lower not in places()
        and not compound_of_words(lower)
    ):
        return "R"
    return "O"


_LINE_DECORATION: Final = " \t>|?*•-"


def _whole_line(text: str, start: int, end: int) -> bool:
    """The piece is a line of its own (a signature, a contact block, an address label)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return not text[line_start:start].strip(_LINE_DECORATION) and not text[end:line_end].strip(
        " \t,"
    )


_MONTHS: Final = word_set("jan feb mar apr jun jul aug sep sept oct nov dec")
_DAY_BEFORE: Final = re.compile(r"\d{1,2}(?:st|nd|rd|th)?\.?[ \t]+$")
_PLACE_BEFORE: Final = re.compile(
    r"\b(?:in|at|to|from|near|visit|via|around|of|the)[ \t]+$", re.IGNORECASE
)
_VOCATIVE_AFTER: Final = re.compile(
    r",[ \t]+(?:can|could|would|will|please|do|did|are|have|i|we|you)\b"
)


def _in_a_list(text: str, start: int, end: int) -> bool:
    """A comma, "&" or "and" right before or after the piece: it may be one of a list."""
    around = text[max(0, start - 6) : start] + "|" + text[end : end + 6]
    return "," in around or "&" in around or " and " in around


def _vocative(text: str, start: int, end: int) -> bool:
    """ "Kuba, can you …": a lone capitalised word that opens a line and is addressed."""
    line_start = text.rfind("\n", 0, start) + 1
    return not text[line_start:start].strip(_LINE_DECORATION) and bool(
        _VOCATIVE_AFTER.match(text, end)
    )


def _accept(text: str, piece: list[Token], honorific: bool) -> tuple[int, int] | None:
    """The part of a piece that is a name, or None (rules in the module docstring)."""
    start = piece[0][0]
    strong = honorific or strong_cue(text[max(0, start - 48) : start])
    # "The Vide A. Persson", "Thanks Anna": an everyday word at either end is not part of it
    while not strong and piece and piece[0][2] in "cPI":
        piece = piece[1:]
        if piece:
            start = piece[0][0]
            strong = strong_cue(text[max(0, start - 48) : start])
    if not strong:
        while piece and piece[-1][2] in "cP":
            piece = piece[:-1]
    if not piece:
        return None
    before = text[max(0, start - 48) : start]
    span = (start, piece[-1][1])
    kinds = [k for _, _, k in piece]
    words = [k for k in kinds if k in "FLNOAcR"]
    if not words or len(words) > 4:
        return None
    if strong:
        return span
    names = sum(k in "FLN" for k in words)
    rare = words.count("R")
    if "c" in words or "A" in words:
        ok = len(words) >= 2 and names >= 1 and kinds[0] in "FN"
        return span if ok else None
    if len(words) == 1 and len(kinds) == 1:
        single, end = text[start : piece[0][1]], piece[0][1]
        if speech_after(text, end):
            return span
        if single.isupper() or (single.lower() in _MONTHS and _DAY_BEFORE.search(before)):
            return None  # "ACME", "3 Jan"
        if single.lower() in places() and (kinds[0] in "LO" or _PLACE_BEFORE.search(before)):
            return None  # "flew to Phoenix", a town that is also a family name
        if kinds[0] == "R" and not rare_name_context(text, start, end):
            return None  # "Coden is a design agency", "from Greenlander"
        ok = kinds[0] in "FN" or (
            kinds[0] in "LR"
            and (
                weak_cue(before)
                or subject_of_verb(text, start, end)
                or (possessive(text, end) and not sentence_start(text, start))
            )
        )
        return span if ok or _vocative(text, start, end) else None
    if weak_cue(before) and names + rare >= 1:
        return span
    if rare and not names and not rare_name_context(text, start, piece[-1][1]):
        return None  # "I work for Wolters Kluwer", "Hoge Wei 32"
    if (
        _whole_line(text, start, piece[-1][1])
        and len(words) <= 3
        and (names >= 1 or all(k in "FLNRI" for k in kinds))
    ):
        return span
    if kinds[-1] == "I":
        return None
    # "Szabina J Gelencsér": a single-letter initial between two capitalised words
    initialled = len(kinds) == 3 and kinds[1] == "I" and kinds[0] in "FLNOR"
    # "Gyala Antall": unlisted words, each a name or rare in English
    unlisted = rare >= 1 and len(words) >= 2 and all(k in "FLNRI" for k in kinds)
    ok = (
        kinds[0] in "FN"
        or names >= 2
        or (kinds[-1] == "L" and len(words) >= 2)
        or initialled
        or unlisted
    )
    return span if ok else None


def _pieces(text: str) -> Iterator[tuple[list[Token], bool]]:
    """Each capitalised run cut at everyday words, blockers and honorifics; a piece followed
    directly by a blocker ("Davis Orchestra") is dropped."""
    for m in RUN.finditer(text):
        tokens = [
            (m.start() + t.start(), m.start() + t.end(), kind_of(t.group()))
            for t in TOKEN.finditer(m.group())
        ]
        piece: list[Token] = []
        honorific = False
        for token in [*tokens, (m.end(), m.end(), "END")]:
            if token[2] in "FLNOAIPcR" and token[2] != "END":
                piece.append(token)
                continue
            while piece and piece[-1][2] == "P":
                piece.pop()
            while piece and piece[0][2] == "P":
                piece.pop(0)
            if piece and token[2] != "B":
                yield piece, honorific
            piece, honorific = [], token[2] == "H"


def _neighbours(text: str, spans: list[Span]) -> Iterator[Span]:
    """ "Park and Mann", "Anna, Ben and Carla": capitalised words coordinated with a name."""
    for span in spans:
        for m in re.finditer(
            r"(?:,|\s+(?:and|&|or|und|et|y))\s+(\S+)", text[span.end : span.end + 40]
        ):
            if m.start() != 0:
                break
            word = m.group(1).rstrip(".,;:!?\"'")
            if word and kind_of(word) in "FLNOR" and word[0].isupper():
                s = span.end + m.start(1)
                yield Span(s, s + len(word), EntityType.PERSON)
        head = text[max(0, span.start - 40) : span.start]
        m2 = re.search(r"(\S+)\s+(?:and|&|or|und|et|y)\s+$", head)
        if m2:
            word = m2.group(1).lstrip("\"'(")
            if word and kind_of(word) in "FLNOR" and word[0].isupper():
                e = span.start - len(head) + m2.end(1)
                yield Span(e - len(word), e, EntityType.PERSON)


def _mentions_again(text: str, spans: list[Span]) -> Iterator[Span]:
    """The parts of a name found once, wherever else they stand capitalised in the text."""
    parts = {p for s in spans for p in re.findall(r"[^\W\d_][\w'-]{2,}", text[s.start : s.end])}
    for part in parts:
        if not part[0].isupper() or part.lower() in common_words():
            continue
        pos = text.find(part)
        while pos >= 0:
            end = pos + len(part)
            before = text[pos - 1] if pos else " "
            after = text[end] if end < len(text) else " "
            if not (before.isalnum() or before in "-_") and not (after.isalnum() or after in "-_"):
                yield Span(pos, end, EntityType.PERSON)
            pos = text.find(part, end)


def _lower_case(text: str) -> Iterator[Span]:
    """Names typed in lower case: after a strong cue, or (in text with no capitals at all,
    as people chat) a given name followed by a family name."""
    cued = not LOWER_CUE_HINTS.isdisjoint(re.findall(r"[\w']+", text.lower()))
    for m in LOWER_AFTER_CUE.finditer(text) if cued else ():
        words = m.group(1).split()
        title = words[0].title()
        if words[0].lower() in common_words() or not (
            title in first_names() or title in last_names()
        ):
            continue
        whole = (
            len(words) == 2 and words[1].title() in last_names() and words[1] not in common_words()
        )
        end = m.end(1) if whole else m.start(1) + len(words[0])
        yield Span(m.start(1), end, EntityType.PERSON)
    if any(ch.isupper() for ch in text):
        return
    for m in LOWER_PAIR.finditer(text):
        first, last = m.group(1), m.group(2)
        if first in common_words() or last in common_words():
            continue
        if first.title() in first_names() and (
            last.title() in last_names() or surname_shaped(last)
        ):
            yield Span(m.start(1), m.end(2), EntityType.PERSON)


def find_persons(text: str) -> Iterator[Span]:
    """Names of people; see the module docstring for the rules."""
    found: list[Span] = []
    listed = "&" in text or " and " in text
    for piece, honorific in _pieces(text):
        if listed and _in_a_list(text, piece[0][0], piece[-1][1]):
            members = org_list_members(text, piece[0][0], piece[-1][1])
            if members and not all(kind_of(w) in "FN" for w in members):
                continue
        span = _accept(text, piece, honorific)
        if span is not None:
            found.append(Span(span[0], span[1], EntityType.PERSON))
    found.extend(_lower_case(text))
    for m in MENTION.finditer(text):
        parts = re.split(r"[._-]", m.group(1))
        if any(
            p.title() in first_names() and p.lower() not in common_words()
            for p in parts
            if len(p) > 2
        ):
            found.append(Span(m.start(), m.end(), EntityType.PERSON))
    extra = list(_neighbours(text, found))
    yield from found
    yield from extra
    yield from _mentions_again(text, found + extra)
