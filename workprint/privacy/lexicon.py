"""Word lists the name and address rules look things up in, read from the Faker package.

Faker (MIT, installed from PyPI, nothing fetched at run time) ships first and last names for
80+ locales, street suffixes, country names and a list of everyday words per language. They are
read once per process, on first use (~0.4 s), into frozensets: ~31k given names, ~28k family
names, ~37k places. With Faker's provider modules, which stay imported, that is ~35 MB.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable
from functools import cache
from typing import Final

# Every name list a Faker person provider has, by attribute name: ``first_names``,
# ``first_names_female``, ``first_romanized_names``, ``first_names_male_hinduism``,
# ``middle_names``, ``last_names_est``, ``last_romanized_names``, ``unisex_last_names``, the
# Japanese ``*_pairs`` (kanji, kana, romanised) ...
_FIRST_ATTR: Final = re.compile(r"first_(?:\w+_)?names?(?:_\w+)?|middle_names(?:_\w+)?")
_LAST_ATTR: Final = re.compile(r"(?:\w+_)?last_(?:\w+_)?names?(?:_\w+)?")


def word_set(text: str) -> frozenset[str]:
    """A word list written as whitespace-separated words; ``_`` stands for a space inside one
    entry (``new_zealand``)."""
    return frozenset(word.replace("_", " ") for word in text.split())


def _strings(value: object) -> Iterable[str]:
    """A provider attribute as strings: tuples and lists (of strings, or of tuples of spellings
    such as ja_JP's (kanji, kana, romanised) pairs), or dicts of name -> weight."""
    if isinstance(value, dict):
        return (k for k in value if isinstance(k, str))
    if isinstance(value, tuple | list | set | frozenset):
        return (
            s for v in value for s in (v if isinstance(v, tuple) else (v,)) if isinstance(s, str)
        )
    return ()


def _provider_attrs(package: str, attrs: tuple[str, ...] | re.Pattern[str]) -> set[str]:
    """Every value of ``attrs`` (names, or a pattern the whole name matches) over all locale
    modules of a Faker provider package."""
    module = importlib.import_module(package)
    found: set[str] = set()
    for info in pkgutil.iter_modules(module.__path__):
        provider = getattr(importlib.import_module(f"{package}.{info.name}"), "Provider", None)
        if provider is None:
            continue
        for attr, value in vars(provider).items():
            wanted = attr in attrs if isinstance(attrs, tuple) else attrs.fullmatch(attr)
            if wanted:
                found.update(_strings(value))
    return found


def _tokens(values: Iterable[str]) -> frozenset[str]:
    """Single words as written (``Mary-Ann`` stays whole, ``van der Berg`` gives its parts)."""
    return frozenset(part for value in values for part in value.split() if len(part) > 1)


@cache
def first_names() -> frozenset[str]:
    """Given names, in their usual capitalisation (``Anna``, ``Jürgen``, ``Ólafur``)."""
    return _tokens(_provider_attrs("faker.providers.person", _FIRST_ATTR))


@cache
def last_names() -> frozenset[str]:
    """Family names, in their usual capitalisation."""
    return _tokens(_provider_attrs("faker.providers.person", _LAST_ATTR))


# Words that are also names in some locale but are far more often something else at work.
# Faker's everyday-word lists cover most of them; these are the ones they miss.
_EXTRA_COMMON: Final = word_set(
    """
    all also am an and any april are art as at august bank be bill bills block born branch
    brook brown build bug by can cancel card case cash chase check chip city class clay
    close code cook cross crystal dale dawn day dean deal december delta docker down drive
    early east ever fall faith feature february ferry fine first fix ford forest fox friday
    frank friend gate gay get git glass go gold golf grace grant gray green grey guy hall
    happy harbor hay head heart hill holiday hope house hunt hunter iii in ink ivy jack
    january java job joy july june just key kind king lane last lead lee less light lily
    line link log long love low main major march mark marsh mason master may mill miles mint
    monday moon more moss most much my new next nick nil north november now number october
    of office on one open or page palmer park pass patch pay penny per pine pool post price
    prime queen rain ray read rich rick ring river road rock rose ruby run rush sale same
    sandy saturday say september set shell ship shore short sky small snow so son spring
    star start stone store street summer sunday sunny tag task temple test the thursday to
    today top tree tuesday union unit up van via wade walker wall ward wash watch water way
    web wednesday well west white will win winter wood woods worth yes young royal thanks
    thank hi hello hey dear cheers regards best kind sincerely yours greetings welcome congrats
    cc fyi btw re fwd ok okay please sorry
    """
)


@cache
def common_words() -> frozenset[str]:
    """Lower-cased everyday words: Faker's English word list, the list above, and the words of
    its other languages' lists that are not also names (Spanish "ella" is a name elsewhere)."""
    words: set[str] = set(_EXTRA_COMMON)
    english = importlib.import_module("faker.providers.lorem.en_US").Provider
    words.update(w.lower() for w in _strings(vars(english).get("word_list")) if len(w) > 1)
    names = {n.lower() for n in first_names() | last_names()}
    for locale in ("de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"):
        provider = importlib.import_module(f"faker.providers.lorem.{locale}").Provider
        for word in _strings(vars(provider).get("word_list")):
            if len(word) > 2 and word.lower() not in names:
                words.add(word.lower())
    return frozenset(words)


@cache
def places() -> frozenset[str]:
    """Lower-cased country, state and city names (a lone capitalised place is not a person)."""
    attrs = ("countries", "cities", "city_names", "states")
    found = {p.lower() for p in _provider_attrs("faker.providers.address", attrs)}
    return frozenset(found | _PLACE_ALIASES)


# Short forms of countries that the providers spell out in full.
_PLACE_ALIASES: Final = word_set(
    """
    united_states usa us u.s. united_kingdom uk england scotland wales northern_ireland
    deutschland schweiz suisse österreich nederland españa italia sverige norge danmark suomi
    polska česko czechia greenland hong_kong south_korea north_korea new_zealand
    """
)


@cache
def street_suffixes() -> frozenset[str]:
    """Lower-cased street kinds written after the name (``Avenue``, ``Lane``, ``Crescent``)."""
    found = _provider_attrs("faker.providers.address", ("street_suffixes",))
    return frozenset(s.lower().strip(".") for s in found if s.isalpha() and len(s) > 2)


@cache
def frequent_words() -> frozenset[str]:
    """Lower-cased English words at least one in a million words of running text (Zipf ≥ 3,
    ~29k words), from wordfreq's frequency list (Apache-2.0 code, CC BY-SA data; shipped in
    the package, nothing fetched). A capitalised word outside it and outside the name lists is
    rare, which is what an unknown name from another language looks like ("Shovda"), and what
    "Unlike", "Maybe", "Reliable" are not."""
    from wordfreq import get_frequency_dict

    return frozenset(w for w, f in get_frequency_dict("en", "best").items() if f >= 1e-6)


def compound_of_words(lower: str) -> bool:
    """``lawdragon``, ``solarlist``, ``opencounter``: two everyday words run together, the way
    firms and products are named, not people."""
    frequent, given = frequent_words(), first_names()
    return any(
        lower[:i] in frequent and lower[i:] in frequent and lower[:i].title() not in given
        for i in range(3, len(lower) - 3)
    )
