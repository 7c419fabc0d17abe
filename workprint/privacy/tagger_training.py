"""Training data for the PERSON/ADDRESS tagger, generated from workprint's own templates.

Templates (``tagger_templates``) are filled with Faker values of many locales; one in eight
names is made up from syllables so that the model cannot lean on the name lists alone, and
names and addresses come in the shapes people type (lower case in chat, capitals on forms,
addresses on one line or several, with or without a country). Everything is drawn from one
``random.Random(seed)`` and seeded Faker instances, so a seed gives the same texts, and
python-crfsuite then gives the same model, byte for byte.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from faker import Faker

from workprint.privacy.spans import EntityType, Span
from workprint.privacy.tagger_features import sequence_features, tokenize
from workprint.privacy.tagger_templates import GROUPS, JOBS, PRODUCTS

LOCALES: Final = (
    "en_US",
    "en_GB",
    "en_AU",
    "en_CA",
    "en_IE",
    "en_IN",
    "de_DE",
    "de_AT",
    "de_CH",
    "fr_FR",
    "it_IT",
    "es_ES",
    "es_MX",
    "pt_BR",
    "pt_PT",
    "nl_NL",
    "pl_PL",
    "cs_CZ",
    "sv_SE",
    "no_NO",
    "da_DK",
    "fi_FI",
    "hu_HU",
    "tr_TR",
    "ro_RO",
    "hr_HR",
    "sk_SK",
    "et_EE",
    "lt_LT",
    "id_ID",
)
LABELLED: Final = {
    "P": "PER",
    "F": "PER",
    "L": "PER",
    "H": "PER",
    "A": "ADR",
    "S": "ADR",
    "Z": "ADR",
}
LABEL_TYPES: Final = {"PER": EntityType.PERSON, "ADR": EntityType.ADDRESS}
_SLOT: Final = re.compile(r"\{([A-Z])\}")
_SYLLABLES: Final = tuple(
    re.findall(
        r"\w+",
        "ka ri to mo na el an ul vi sa de lo ba ra in ko ta mi ha sh ov ek ja ze yu ng dr br",
    )
)
_HONORIFICS: Final = ("Mr. ", "Mrs. ", "Ms. ", "Dr. ", "Mr ", "Ms ", "Prof. ", "Herr ", "Mme ")

Example = tuple[str, list[Span]]


class _Filler:
    """Draws slot values for one text from one locale."""

    def __init__(self, rng: random.Random, fakers: dict[str, Faker]) -> None:
        self.rng = rng
        self.fake = fakers[rng.choice(LOCALES)]
        self.case = rng.random()  # < 0.04 lower-case text, > 0.96 upper-case names

    def _cased(self, value: str) -> str:
        if self.case < 0.04:
            return value.lower()
        if self.case > 0.96:
            return value.upper()
        return value

    def _made_up(self) -> str:
        word = "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 3)))
        return word.capitalize()

    def given(self) -> str:
        if self.rng.random() < 0.12:
            return self._cased(self._made_up())
        return self._cased(self.fake.first_name().split()[0])

    def family(self) -> str:
        r = self.rng.random()
        name = self._made_up() if r < 0.12 else self.fake.last_name()
        if 0.12 <= r < 0.17:
            name = f"{name}-{self.fake.last_name()}"
        return self._cased(name)

    def full(self) -> str:
        r = self.rng.random()
        if r < 0.08:
            return f"{self.given()} {self.rng.choice('ABCDEFGHJKLMNPRSTW')}. {self.family()}"
        if r < 0.14:
            return f"{self.given()} {self.given()} {self.family()}"
        if r < 0.19:
            return f"{self.family()}, {self.given()}"
        return f"{self.given()} {self.family()}"

    def street(self) -> str:
        value = str(self.fake.street_address())
        if self.rng.random() < 0.15 and hasattr(self.fake, "secondary_address"):
            value += self.rng.choice((", ", " ")) + str(self.fake.secondary_address())
        return value

    def town(self) -> str:
        return f"{self.fake.postcode()} {self.fake.city()}"

    def address(self) -> str:
        value = str(self.fake.address())
        r = self.rng.random()
        if r < 0.45:
            value = value.replace("\n", ", ")
        elif r < 0.55:
            value = value.replace("\n", " ")
        if self.rng.random() < 0.2:
            value += self.rng.choice((", ", "\n", " ")) + str(self.fake.current_country())
        return value.upper() if self.case > 0.97 else value

    def value(self, slot: str) -> tuple[str, str]:
        """(prefix outside the span, labelled or look-alike value)."""
        rng, fake = self.rng, self.fake
        makers: dict[str, Callable[[], str]] = {
            "P": self.full,
            "F": self.given,
            "L": self.family,
            "A": self.address,
            "S": self.street,
            "Z": self.town,
            "C": lambda: str(fake.city()),
            "K": lambda: str(fake.current_country()),
            "O": lambda: str(fake.company()),
            "R": lambda: rng.choice(PRODUCTS),
            "T": lambda: str(fake.phone_number()),
            "E": lambda: str(fake.email()),
            "D": lambda: fake.date(rng.choice(("%d.%m.%Y", "%Y-%m-%d", "%B %d, %Y", "%d %b"))),
            "N": lambda: rng.choice(("#", "PROJ-", "A-", "", "INC")) + str(rng.randint(10, 99999)),
            "V": lambda: f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
            "X": lambda: f"{rng.getrandbits(28):07x}",
            "J": lambda: rng.choice(JOBS),
            "W": lambda: str(fake.catch_phrase()).title(),
        }
        if slot == "H":
            return rng.choice(_HONORIFICS), self.family()
        return "", makers[slot]()


def fill(template: str, rng: random.Random, fakers: dict[str, Faker]) -> Example:
    """The template with its slots filled, and the spans of the labelled ones."""
    filler = _Filler(rng, fakers)
    parts: list[str] = []
    spans: list[Span] = []
    places: list[Span] = []
    length = pos = 0
    for m in _SLOT.finditer(template):
        parts.append(template[pos : m.start()])
        length += m.start() - pos
        prefix, value = filler.value(m.group(1))
        parts.append(prefix + value)
        length += len(prefix)
        label = LABELLED.get(m.group(1))
        if label is not None:
            spans.append(Span(length, length + len(value), LABEL_TYPES[label]))
        elif m.group(1) in "CK":
            places.append(Span(length, length + len(value), EntityType.ADDRESS))
        length += len(value)
        pos = m.end()
    parts.append(template[pos:])
    return _joined("".join(parts), spans, places)


_GAP: Final = re.compile(r"[\s,.;:()>|?-]*")


def _joined(text: str, spans: list[Span], places: list[Span]) -> Example:
    """Address parts next to each other are one address, and so is a town or country right
    after (or before) one; a given name and a family name next to each other are one name."""

    def adjacent(a: Span, b: Span) -> bool:
        return a.end <= b.start and _GAP.fullmatch(text, a.end, b.start) is not None

    addresses = [s for s in spans if s.type is EntityType.ADDRESS]
    for place in places:
        if any(adjacent(a, place) or adjacent(place, a) for a in addresses):
            spans.append(place)
    merged: list[Span] = []
    for span in sorted(spans):
        prev = merged[-1] if merged else None
        gap = text[prev.end : span.start] if prev else ""
        if (
            prev
            and prev.type is span.type
            and (
                (span.type is EntityType.ADDRESS and adjacent(prev, span))
                or (span.type is EntityType.PERSON and gap.strip() == "" and "\n" not in gap)
            )
        ):
            merged[-1] = Span(prev.start, span.end, span.type)
        else:
            merged.append(span)
    return text, merged


def make_fakers(seed: int) -> dict[str, Faker]:
    fakers = {}
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        fakers[locale] = fake
    return fakers


_SALAD_SLOTS: Final = "PPPFFFLLHAASZZCKORWNDT"


def word_salad(rng: random.Random, vocabulary: Sequence[str]) -> str:
    """A template of 4-18 frequent English words with one to three slots at random places: it
    teaches what a name or an address looks like in *any* context, where the templates teach
    the contexts that say so."""
    words = [rng.choice(vocabulary) for _ in range(rng.randint(4, 18))]
    for _ in range(rng.randint(1, 3)):
        words.insert(rng.randint(0, len(words)), "{" + rng.choice(_SALAD_SLOTS) + "}")
    if rng.random() < 0.8 and not words[0].startswith("{"):
        words[0] = words[0].capitalize()
    return " ".join(words).replace("{", "{{").replace("}", "}}").format() + rng.choice(".?!,:")


def generate(count: int, seed: int, salad: float = 0.3) -> list[Example]:
    """``count`` texts: filled templates, every group equally often, and a share ``salad`` of
    word-salad ones."""
    from wordfreq import top_n_list

    vocabulary = [w for w in top_n_list("en", 3000) if w.isalpha()]
    rng = random.Random(seed)
    fakers = make_fakers(seed)
    examples = []
    for _ in range(count):
        if rng.random() < salad:
            template = word_salad(rng, vocabulary)
        else:
            template = rng.choice(rng.choice(GROUPS))
        examples.append(fill(template, rng, fakers))
    return examples


def bio_labels(text: str, spans: Sequence[Span]) -> tuple[list[list[str]], list[str]]:
    """Features and B-/I-/O labels of each token of ``text``."""
    tokens = tokenize(text)
    names = {v: k for k, v in LABEL_TYPES.items()}
    labels: list[str] = []
    for start, end in tokens:
        label = "O"
        for span in spans:
            if span.start <= start and end <= span.end:
                prefix = "B" if start == span.start or not labels or labels[-1] == "O" else "I"
                label = f"{prefix}-{names[span.type]}"
        labels.append(label)
    return sequence_features(text, tokens), labels


def train(
    examples: Sequence[Example],
    model: Path,
    max_iterations: int = 100,
    c1: float = 0.05,
    c2: float = 0.01,
) -> None:
    """Fit a linear-chain CRF (L-BFGS, L1+L2) and write it to ``model``."""
    import pycrfsuite  # type: ignore[import-untyped]

    trainer = pycrfsuite.Trainer(verbose=False)
    for text, spans in examples:
        features, labels = bio_labels(text, spans)
        trainer.append(features, labels)
    trainer.set_params(
        {
            "c1": c1,
            "c2": c2,
            "max_iterations": max_iterations,
            "feature.possible_transitions": True,
            "feature.minfreq": 2,
        }
    )
    model.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(model))
