"""Postal addresses: a street line found by its shape, grown over the lines that finish it.

Anchors are the shapes a street takes in Europe and the Americas ("24 Clarke Avenue",
"Hauptstraße 5", "Via Tasso 129", "31 rue de la Paix", "ul. Północna 73"), PO and military
boxes, and anything after "my address is". From an anchor the span grows over apartment/suite
parts, city and country names, state codes and postcodes on the same or the next lines, and
stops at a sentence end, a label ("Mobile:") or ordinary prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Final

from workprint.privacy.lexicon import places, street_suffixes, word_set
from workprint.privacy.name_rules import UPPER
from workprint.privacy.spans import EntityType, Span

_NUM: Final = r"\d{1,5}[A-Za-z]?"
# A house number after the street name may be a range or a number/flat ("51-81", "60/30").
_HOUSE: Final = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?"
# A word of a street name; never a connective ("473 St. and Inna Loop" is two streets).
_NAME_WORD: Final = r"(?:(?!(?i:and|or|at|in|on|to|of|near|by)\b)[^\W\d_][\w'’.-]*)"
# A capitalised word, or a lower-case word that may stand inside a street name: particles and
# the street kinds some languages write in lower case ("Stensås terrasse", "Piroska u.").
_CAP_WORD: Final = (
    rf"(?:{UPPER}[\w'’.-]*|(?i:(?:nad|u|z|de|del|della|delle|dei|degli|des|di|du|da|do|dos|la|"
    r"le|les|van|von|der|den|y|terrasse|vei|veien|gate|gata|vej|gade|tee|põik|kapu|út|utca|"
    r"rkp|krt|sor|köz)\.?))"
)
_SUFFIX_EXTRA: Final = (
    "st rd ave blvd ln dr ct pl sq hwy pkwy cir ter trl crossroad radial lodge union islands"
)
# Street kinds Faker's locales write onto the name ("Nguyenkollen 2", "Rejsbystræde 7",
# "Gerritsteeg 2", "Vesakkobulevardi 5"); four letters or more, so no given name ends in one.
_GLUED: Final = (
    "alléen", "bakken", "berget", "boulevard", "bråten", "bulevardi", "dreef", "eggen", "engen",
    "faret", "flata", "gjerdet", "grenda", "gropa", "hagen", "haugen", "havna", "holtet",
    "høgda", "jordet", "kollen", "kroken", "lunden", "lyngen", "løkka", "marka", "myra",
    "plassen", "ringen", "skogen", "skrenten", "spranget", "steeg", "stien", "stigen", "stranda",
    "stræde", "stubben", "stykket", "svingen", "tjernet", "toppen", "torget", "tunet", "vollen",
    "åsen", "baan", "straat",
)  # fmt: skip
_CONTINENTAL_SUFFIX: Final = (
    rf"(?:[^\W\d_]+-)*[^\W\d_]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|katu|kuja|"
    r"tie|polku|gatan|vägen|gränd|gade|vej|veien|vegen|gata|laan|straat|plein|gracht|kade|"
    rf"singel|utca|út|tér|cesta|ulica|iela|gatve|tee|{'|'.join(_GLUED)})"
)
_PREFIX: Final = (
    r"(?:rue|avenue|av\.|bd|boulevard|chemin|allée|impasse|quai|place|via|viale|vicolo|piazza|"
    r"piazzale|corso|largo|calle|avenida|avda\.|paseo|plaza|camino|carrer|rua|rúa|travessa|"
    r"praça|estrada|ul\.|ulica|al\.|aleja|pl\.|plac|os\.|náměstí|πλατεία|οδός|λεωφόρος|λ\.|"
    r"incrocio|strada|rotonda|stretto|contrada|borgo|cañada|cuesta|urbanización|callejón|calzada|"
    r"pasaje|ronda|rambla|glorieta|alameda|ladeira|rodovia|viela|aleea|bulevardul|drumul|"
    r"intrarea|șoseaua|soseaua|passarela|lago|residencial|pátio|morro|esplanada|feira|estação|"
    r"vereda|praia|vale|condomínio|setor|fazenda|recanto|quadra|trecho|núcleo|conjunto|sítio|"
    r"chácara|av|r\.)"
)
# Street words that say "street" even with no house number ("rue de Hubert", "Calle Mayor").
_STRONG_PREFIX: Final = (
    r"(?:rue|chemin|avenue|boulevard|impasse|allée|calle|avenida|rua|travessa|alameda|viale|"
    r"piazza|piazzale|vicolo|corso|ulica|aleja|strada|cañada|cuesta|urbanización|callejón|"
    r"calzada|rambla|ladeira|rodovia)"
)
_UNIT: Final = r"(?:apt\.?|apartment|suite|ste\.?|unit|flat|room|floor|fl\.?|#)[ \t]*#?\d+[A-Za-z]?"
_BOX: Final = (
    r"(?:p\.?[ \t]?o\.?[ \t]?box[ \t]+\d+|psc[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{3,5}|"
    r"unit[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{3,5}|us(?:s|ns|cgc)[ \t]+[^\W\d_][\w-]+|"
    r"(?:apo|fpo|dpo)[ \t]+(?:aa|ae|ap)[ \t]+\d{5})"
)


@cache
def _anchors(lower: bool) -> tuple[re.Pattern[str], ...]:
    """The street shapes, each its own pattern: at one position the longest shape should win,
    and an alternation would take the first."""
    suffixes = "|".join(sorted({*street_suffixes(), *_SUFFIX_EXTRA.split()}, key=len, reverse=True))
    shapes = (
        # 24 Clarke Avenue, 3747 3911 fourth avenue, 1668 Glyn St
        # Flat 60\nPaula Court (a unit, then the street without a house number)
        rf"(?i)(?<![\w.,:/-])(?:(?:\d{{1,5}}/)?{_NUM}(?:[ \t]+\d{{1,5}})?,?[ \t]+|"
        rf"(?:flat|studio|apartment|suite|unit)[ \t]+\d{{1,4}}[a-z]?,?[ \t]*\n?[ \t]*)"
        rf"(?:{_NAME_WORD}[ \t]+){{0,3}}(?:{suffixes})\b\.?",
        # Hauptstraße 5, Koskikatu 25 (after a building number or on its own)
        rf"(?<![\w.-])(?:{_NUM}[ \t]+)?(?:{_CAP_WORD}[ \t]+){{0,2}}(?i:{_CONTINENTAL_SUFFIX})"
        rf",?[ \t]+{_HOUSE}\b",
        # Via Tasso 129, ul. Chrzanowska 61
        rf"(?<![\w.-])(?:{_NUM},?[ \t]+){{0,2}}(?i:{_PREFIX})(?:[ \t]+{_CAP_WORD}){{0,4}}?"
        rf",?[ \t]+(?:{_HOUSE}\b|(?i:s/n)\b)",
        # 31 rue de la Paix, 26 Avenue des Tuileries
        rf"(?<![\w.,:/-]){_NUM}(?:[ \t]+{_NUM})?,?[ \t]+(?i:{_PREFIX})(?:[ \t]+{_CAP_WORD}){{0,4}}"
        rf"[ \t]+{UPPER}[\w'’-]*",
        # 6750 Koskikatu 25, 583 Magrethevej 298: number, name, number
        rf"(?<![\w.,:/-])\d{{1,5}}[ \t]+(?:{_CAP_WORD}[ \t]+){{1,3}}\d{{1,4}}[A-Za-z]?\b"
        rf"(?=\.?[ \t]*(?:,|\n|$|(?i:{_UNIT})))",
        rf"(?i){_BOX}",
        # rue de Hubert, Calle Mayor: a street word no one uses otherwise, no house number
        rf"(?<![\w.-])(?i:{_STRONG_PREFIX})(?:[ \t]+(?i:de|del|des|du|da|do|dos|la|le|di|della))*"
        rf"(?:[ \t]+(?-i:{UPPER})[\w'’-]+){{1,3}}",
    )
    flags = re.MULTILINE | (re.IGNORECASE if lower else 0)
    return tuple(re.compile(shape, flags) for shape in shapes)


_WORDS: Final = re.compile(r"[^\W\d_]+")
_CONTINENTAL_ENDINGS: Final = (
    "straße", "strasse", "str", "weg", "gasse", "platz", "allee", "ring", "damm", "ufer",
    "chaussee", "katu", "kuja", "tie", "polku", "gatan", "vägen", "gränd", "gade", "vej", "veien",
    "vegen", "gata", "laan", "straat", "plein", "gracht", "kade", "singel", "utca", "út", "tér",
    "cesta", "ulica", "iela", "gatve", "tee", *_GLUED,
)  # fmt: skip
_PREFIX_WORDS: Final = word_set(
    """
    rue avenue av bd boulevard chemin allée impasse quai place via viale vicolo piazza piazzale
    corso largo calle avenida avda paseo plaza camino carrer rua rúa travessa praça estrada ul
    ulica al aleja pl plac os náměstí πλατεία οδός λεωφόρος λ incrocio strada rotonda stretto
    contrada borgo cañada cuesta urbanización callejón calzada pasaje ronda rambla glorieta
    alameda ladeira rodovia viela aleea bulevardul drumul intrarea șoseaua soseaua passarela
    lago residencial pátio morro esplanada feira estação vereda praia vale condomínio setor
    fazenda recanto quadra trecho núcleo conjunto sítio chácara r
    """
)
_BOX_WORDS: Final = word_set("box uss usns uscgc apo fpo dpo postbox")


@cache
def _street_kinds() -> frozenset[str]:
    return frozenset({*street_suffixes(), *_SUFFIX_EXTRA.split()})


_WORD_BEFORE_NUMBER: Final = re.compile(r"[ \t]+\d")
# Per keyword shape: how far before and after its keyword a match can start and end.
_REACH: Final = ((90, 12), (70, 40), (40, 110), (40, 110))


def _windows(text: str, lowered: str) -> list[list[tuple[int, int]]]:
    """Per keyword shape (street kind, continental ending, prefix, prefix), the merged
    stretches of text around the words that can anchor it, so that a long document is
    searched only where a street could be; box shapes are matched on box words."""
    found: list[list[tuple[int, int]]] = [[], [], [], [], []]
    kinds, size = _street_kinds(), len(text)
    for m in _WORDS.finditer(lowered):
        word = m.group()
        hits = (
            word in kinds,
            word.endswith(_CONTINENTAL_ENDINGS)
            and _WORD_BEFORE_NUMBER.match(text, m.end() + (text[m.end() : m.end() + 1] == "."))
            is not None,
            word in _PREFIX_WORDS,
            word in _PREFIX_WORDS,
            word in _BOX_WORDS,
        )
        for i, hit in enumerate(hits):
            if hit:
                before, after = _REACH[i] if i < 4 else (20, 60)
                start, end = max(0, m.start() - before), min(size, m.end() + after)
                spans = found[i]
                if spans and spans[-1][1] >= start:
                    spans[-1] = (spans[-1][0], end)
                else:
                    spans.append((start, end))
    return found


def _anchor_matches(text: str) -> Iterator[re.Match[str]]:
    """Every shape's matches, keyword shapes only around their keywords; in text with no
    capital letter at all (typed in lower case, as people often chat), words need not be
    capitalised."""
    lower = not any(ch.isupper() for ch in text)
    shapes = _anchors(lower)
    windows = _windows(text, text.lower())
    for i, pattern in enumerate(shapes):
        if i == 4:  # number, name, number: no keyword, digits start it
            yield from pattern.finditer(text)
            continue
        for start, end in windows[i if i < 4 else 2 if i == 6 else 4]:
            yield from pattern.finditer(text, start, end)


_CUE: Final = re.compile(
    r"\b(?:my\s+(?:new\s+)?address\s+is|address\s*:|address\s+is|ship\s+(?:it\s+)?to|"
    r"deliver(?:ed)?\s+to|send\s+(?:it|them|the\s+\w+)\s+to|lives?\s+(?:at|on)|located\s+at|"
    r"moved\s+to|wohne\s+in|anschrift\s*:|adresse\s*:)[ \t]*(?:\n[ \t]*)?",
    re.IGNORECASE,
)
_CORNER: Final = re.compile(
    r"\b(?:the\s+)?corner\s+of\s+[^\n?!]{3,80}?\s(?:and|&)\s[^\n?!,]{2,40}?"
    r"(?=\.?[ \t]*(?:\n|$)|[?!,]|\.\s+[A-Z]|\s+(?:in|at|for|on|after|before|when)\b)"
)
_LINE_PREFIX: Final = r"[ \t>|?*•-]*"
_SEP: Final = rf"\.?[ \t]*(?:,[ \t]*|\n{_LINE_PREFIX}(?:\n{_LINE_PREFIX})?,?[ \t]*|[ \t]+)"
_PLACE_WORD: Final = r"(?:[^\W\d_]{1,3}\.|[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*(?!\w))"
# One piece that can continue an address, and whether it is "solid" (certainly address).
_SOLID_PIECE: Final = re.compile(
    rf"{_SEP}(?:(?i:{_UNIT})|(?i:{_BOX})|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|\d{{4}}[ \t]?[A-Z]{{2}}"
    rf"|[A-Z]{{1,2}}-\d{{4,5}}"
    rf"|[A-Z]{{1,2}}\d[A-Z\d]?[ \t]?\d[A-Z]{{2}}|\d{{2,6}}(?:[ -]\d{{2,4}})?"
    rf"|[A-Z]{{2}}(?=[ \t]*(?:,|\n|[ \t]\d|$)))(?![\w-])"
)
_WORDS_PIECE: Final = re.compile(
    rf"{_SEP}(?P<words>(?:{_PLACE_WORD}[ \t]){{0,4}}{_PLACE_WORD}(?:[ \t]\([^\n)]{{1,30}}\))?)"
)
_STOP_WORDS: Final = word_set(
    """
    and or the a an in on at for to of is was it i we you he she they this that with from by
    after before when if but please thanks mobile phone fax desk email e-mail tel website
    office call regards best cheers
    """
)


_PARTICLES: Final = word_set("nad u de del della des di du da do dos la le les van von der den y e")


def _place_words(piece: str) -> tuple[int, bool]:
    """How much of a run of words after an address part is place name, not prose: the
    leading capitalised words (particles allowed) before any stop word, as (length in
    characters, solid: all capitals or a known place)."""
    kept = 0
    words: list[str] = []
    for m in re.finditer(r"\S+", piece):
        word = m.group().strip(",").lstrip(">|?*•-")
        if not word:
            continue
        lowered = word.lower().strip(".()")
        if lowered in _STOP_WORDS or not (
            word[0].isupper() or word[0] == "(" or lowered in _PARTICLES
        ):
            break
        kept = m.end()
        words.append(word)
    while words and words[-1].lower() in _PARTICLES:  # never end on "de"
        words.pop()
        kept = piece.rfind(words[-1]) + len(words[-1]) if words else 0
    plain = " ".join(w for w in words if not w.startswith("("))
    return kept if words else 0, bool(words) and (plain.isupper() or plain.lower() in places())


def _grow(text: str, end: int) -> int:
    """Extend an address over the unit/city/state/country/postcode pieces that follow it, up
    to the last piece that is certainly part of an address."""
    solid_end = end
    after_postcode = False
    for _ in range(10):
        m = _SOLID_PIECE.match(text, end)
        if m is not None:
            end = solid_end = m.end()
            after_postcode = any(ch.isdigit() for ch in m.group())
            continue
        m = _WORDS_PIECE.match(text, end)
        if m is None:
            break
        length, solid = _place_words(m.group("words"))
        if length == 0:
            break
        # "10435 Berlin": the words right after a postcode on its line are the town
        solid = solid or (after_postcode and "\n" not in text[end : m.start("words")])
        end = m.start("words") + length
        after_postcode = False
        if solid:
            solid_end = end
    return solid_end


_ZIP: Final = re.compile(
    r"\b(?:zip(?:\s*code)?|postal\s*code|postcode|post\s*code|plz|cap)\b(?:\s+is|\s*[:#])?\s*"
    r"(?P<zip>[A-Z0-9]{2,5}(?:[ -][A-Z0-9]{3,4})?)\b",
    re.IGNORECASE,
)


# What a cued value must show to be taken as an address: a postcode-sized number, a house
# number before a name, or a name before a house number.
_ADDRESS_LIKE: Final = re.compile(
    rf"\b\d{{4,6}}\b|\b\d{{1,5}}[ \t]+{UPPER}|{UPPER}[\w'’-]+[ \t]+\d{{1,4}}\b"
)


_CUE_WORDS: Final = word_set(
    "address ship deliver delivered send live lives located moved wohne anschrift adresse"
)
_CUE_END: Final = re.compile(r"[.?!](?:\s|$)|\n\s*\n|\n[^\n:]*:|$")
_ZIP_WORDS: Final = word_set("zip postal postcode post plz cap")


_DIGIT_OR_STREET_WORD: Final = re.compile(rf"\d|(?i:\b{_STRONG_PREFIX}\b)")


def might_hold_address(text: str) -> bool:
    """The cheap precondition: a digit (house number, postcode, box) or a street word that
    needs no number ("rue de Hubert")."""
    return _DIGIT_OR_STREET_WORD.search(text) is not None


def find_addresses(text: str) -> Iterator[Span]:
    """Street addresses and postal boxes with their tails, cued addresses, labelled postcodes."""
    words = set(_WORDS.findall(text.lower()))
    anchored = []
    for m in _anchor_matches(text):
        anchored.append(m.start())
        yield Span(m.start(), _grow(text, m.end()), EntityType.ADDRESS)
    if "corner" in words:
        for m in _CORNER.finditer(text):
            yield Span(m.start(), m.end(), EntityType.ADDRESS)
    for m in _CUE.finditer(text) if not words.isdisjoint(_CUE_WORDS) else ():
        stop = _CUE_END.search(text, m.end())
        end = stop.start() if stop else len(text)
        value = text[m.end() : end].rstrip()
        inside = any(m.end() <= a < m.end() + len(value) for a in anchored)
        if not inside and _ADDRESS_LIKE.search(value) and len(value) <= 160:
            yield Span(m.end(), m.end() + len(value), EntityType.ADDRESS)
    for m in _ZIP.finditer(text) if not words.isdisjoint(_ZIP_WORDS) else ():
        if any(ch.isdigit() for ch in m.group("zip")):
            yield Span(m.start("zip"), m.end("zip"), EntityType.ADDRESS)
