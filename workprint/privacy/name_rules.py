"""The patterns and word lists the PERSON rules use: runs, cues, blockers, company lists.

Kept apart from names.py so the rules read as decisions and the vocabulary can be reviewed
(and extended for a language) on its own.
"""

from __future__ import annotations

import re
from typing import Final

from workprint.privacy.lexicon import word_set


def _upper_class() -> str:
    """A character class of every upper/title-case letter in the BMP (``re`` has no \\p{Lu})."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x10000):
        ch = chr(code)
        if ch.isupper() or ch.istitle():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    parts = [re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b))) for a, b in ranges]
    return "[" + "".join(parts) + "]"


UPPER: Final = _upper_class()
_UP: Final = UPPER
# Apostrophes and hyphens inside a name (O'Brien, Mary-Ann) but not a possessive 's.
_WORD: Final = rf"(?:{_UP}\.(?![^\W\d_])|{_UP}(?:[^\W\d_]|['’](?!s\b)(?=[^\W\d_])|-(?=[^\W\d_]))*)"
_PARTICLE: Final = (
    r"(?:van|von|der|den|de|del|della|di|da|das|dos|du|la|le|ten|ter|bin|ibn|al|el|zu|y)"
)
# A run: capitalised words (initials with or without a dot) and particles, on one line.
RUN: Final = re.compile(
    rf"(?<![\w@/#.\\-]){_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_WORD})*"
    rf"(?![^\W_]|@|['’](?!s\b)[^\W_])"
)
TOKEN: Final = re.compile(rf"{_WORD}|{_PARTICLE}")
LOWER_PAIR: Final = re.compile(
    r"(?<![\w@./-])(?=([^\W\d_A-Z][\w-]+)[ \t]+(?:[a-z]\.?[ \t]+)?([^\W\d_A-Z][\w-]+)"
    r"(?:['’]s)?(?![\w@'’]))"
)
MENTION: Final = re.compile(r"(?<![\w@.])@([A-Za-z][\w.-]{1,38}[A-Za-z0-9])")

HONORIFICS: Final = word_set(
    """
    mr mrs ms miss mx dr prof sir dame madam herr frau mme mlle monsieur madame sr sra srta
    sig dott rev capt col sgt
    """
)
_BLOCKERS: Final = word_set(
    """
    inc ltd llc gmbh ag corp co company group bank university college school hospital
    orchestra foundation institute partners associates systems technologies solutions services
    consulting capital holdings insurance labs street avenue road lane drive city county river
    lake mount island islands republic kingdom states united north south east west new saint
    st january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday github gitlab slack google
    microsoft linux windows python docker kubernetes jira excel chrome firefox zoom teams
    outlook aws azure amazon apple android iphone mac macos ios ubuntu debian club hotel
    airport station park museum church centre center weekly times post news journal
    corporation investments ventures industries enterprises international global media
    software networks analytics healthcare pharma therapeutics energy motors airlines trust
    fund advisors management research digital markets realty properties
    american british english french german spanish italian dutch polish russian chinese
    japanese korean indian swedish norwegian danish finnish icelandic greek turkish czech
    hungarian croatian serbian romanian portuguese brazilian mexican canadian australian
    irish scottish welsh swiss austrian belgian ukrainian arab arabic african european
    asian jewish muslim christian catholic protestant christmas xmas easter halloween
    prince princess king queen duke duchess lord lady emperor empress pope sheikh
    thanksgiving ramadan eid diwali hanukkah adobe acrobat reader word powerpoint onedrive
    sharepoint dropbox notion figma visual studio vscode intellij terminal safari edge
    spotify whatsapp telegram skype webex confluence bitbucket jenkins grafana postgres
    """
)
# Family-name endings across languages (Nordic -sen/-sson/-dóttir, Slavic -ski/-ová/-ić/-ov,
# Finnish -nen, Japanese -moto/-yama, German -mann/-stein): evidence for an unknown word.
_SURNAME_ENDING: Final = re.compile(
    r"(?:sen|sson|dóttir|dottir|ová|ova|eva|ski|ska|sky|cki|cka|wicz|vić|vič|ić|ič|enko|escu|"
    r"oglu|oğlu|yan|ishvili|ashvili|dze|poulos|akis|berg|stein|mann|ov|ev|aev|iev|ovich|"
    r"evich|czyk|nen|inen|moto|yama|mura|kawa|hara|uchi|zadeh)$",
    re.IGNORECASE,
)


_SURNAME_START: Final = re.compile(r"(?:O['’]|Mc|Mac)[A-Z]")


def surname_shaped(word: str) -> bool:
    """An unknown word of 5+ letters with a family-name ending, or O'…/Mc…/Mac… + capital."""
    return len(word) >= 5 and bool(_SURNAME_ENDING.search(word) or _SURNAME_START.match(word))


def is_blocker(lower: str) -> bool:
    """A word that makes the capitalised run around it a company, place, day or product."""
    return lower in _BLOCKERS


_STRONG: Final = re.compile(
    r"""(?:
      \b(?:mr|mrs|ms|miss|mx|dr|prof|herr|frau|mme|mlle|sr|sra|srta|sig|dott)\.?
     |\b(?:dear|hi|hello|hey|hallo|liebe|lieber|bonjour|hola|ciao|thanks|thank\s+you|thx|
         regards|cheers|cc|bcc|attn|ping|says|said|asked|wrote|replied|according\s+to)\b[ \t]*,?
     |\bname(?:\s+is|'s|\s+was)?[ \t]*:?
     |\b(?:call|calls|called|named)[ \t]+(?:me[ \t]+|him[ \t]+|her[ \t]+|them[ \t]+)?
     |\b(?:i'm|i\s+am|this\s+is)
     |\b(?:signed(?:-off)?[ -]by|co-authored-by|author|reviewer|assignee|reporter|owner|from|
         to|user|attendee|organi[sz]er|contact|c/o|card\s*holder|account\s+holder|holder|
         recipient|beneficiary|payee|employee|patient|customer|client|applicant|candidate|
         guest|passenger|tenant|landlord|emergency\s+contact|contact\s+person|signatory|
         witness|manager|supervisor|approver|requester|(?:requested|approved|prepared|
         reviewed|created|assigned|written)\s+by)[ \t]*:
    )[ \t]*\n?[ \t>]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_WEAK: Final = re.compile(
    r"(?:\b(?:with|by|and|or|from|ask|asked|tell|told|meet|met|says|said|wrote|replied|"
    r"according\s+to|starring|featuring|features|under|heard|per|via|contact|invite|invited|"
    r"welcome|congrats|see|call|email|message|sorry|[Ww]ith|[Bb]y|[Aa]sk|[Tt]ell)|@)"
    r"[ \t]*,?[ \t]*$"
)


def strong_cue(before: str) -> bool:
    """The text before a piece names what follows as a person (honorific, greeting, label)."""
    return bool(_STRONG.search(before))


# Verbs that make the capitalised word before them a person: "Ravi said", "Anna approved".
_SPEECH_AFTER: Final = re.compile(
    r"[ \t]+(?:said|says|wrote|asked|replied|told|mentioned|thinks|suggested|approved|"
    r"reviewed|commented|pinged|emailed|called|texted|confirmed|agreed)\b"
)


def speech_after(text: str, end: int) -> bool:
    """The word ending at ``end`` is the subject of a verb only people do."""
    return _SPEECH_AFTER.match(text, end) is not None


# What a person who opens a sentence does next: "Shovda is very reliable", "Mehrudin shouted".
_SUBJECT_VERB: Final = re.compile(
    r"[ \t]+(?:is|was|has|had|will|would|can|could|should|might|must|did|does|shouted|yelled|"
    r"went|came|left|gave|got|made|took|lives|lived|works|worked|loves|loved|likes|liked|wants|"
    r"wanted|needs|needed|knows|knew|thinks|thought|looks|looked|seems|seemed|sings|sang|"
    r"plays|played|wants|joined|joins|moved|bought|sent|sends|writes|called|told|met|spoke|"
    r"speaks|started|finished|won|lost|became|returned|arrived)\b"
)
_SENTENCE_START: Final = re.compile(r"(?:^|[.!?:;\"“(]|\n)[ \t>*•-]*$")


def sentence_start(text: str, start: int) -> bool:
    """Nothing but a line start or a sentence end before ``start``: capitals say nothing."""
    return bool(_SENTENCE_START.search(text, max(0, start - 8), start))


def subject_of_verb(text: str, start: int, end: int) -> bool:
    """The word opens a sentence and a verb follows: a person doing something."""
    return sentence_start(text, start) and bool(_SUBJECT_VERB.match(text, end))


def possessive(text: str, end: int) -> bool:
    """ "Meza's song": the word is followed by a possessive 's."""
    return text.startswith(("'s ", "’s "), end)


# Where a word that is only rare (not a listed name) is a firm, a place or a street instead.
_ORG_BEFORE: Final = re.compile(
    r"\b(?:work(?:s|ed|ing)?\s+(?:for|at|with)|employed\s+(?:by|at)|from|at|in|into|join(?:s|ed)?|"
    r"based\s+in|visit(?:ed)?|of|on|for|use[sd]?|using|via|install(?:ed)?)[ \t]+$",
    re.IGNORECASE,
)
_ORG_AFTER: Final = re.compile(
    r"[ \t]+(?:is|was|are)[ \t]+(?:an?|the)[ \t]+(?:[\w-]+[ \t]+){0,2}?(?:agency|company|firm|"
    r"startup|brand|product|platform|tool|service|app|library|framework|business|"
    r"organi[sz]ation|group|band|city|town|village|country|region|provider|vendor|website|site)\b"
    r"|[ \t]+\d|[ \t]+(?:inc|ltd|llc|plc|gmbh|corp)\b",
    re.IGNORECASE,
)


def rare_name_context(text: str, start: int, end: int) -> bool:
    """Words known only to be rare in English are taken as a name unless the context says firm,
    place or street ("works at Evidera", "Coden is a design agency", "Hoge Wei 32")."""
    return not (_ORG_BEFORE.search(text, max(0, start - 30), start) or _ORG_AFTER.match(text, end))


def weak_cue(before: str) -> bool:
    """A lower-case connective that often precedes a person ("with", "by", "thanks")."""
    return bool(_WEAK.search(before))


_LIST_MEMBER: Final = rf"{_WORD}(?:[ \t]{_WORD}){{0,2}}"
_ORG_LIST: Final = re.compile(
    rf"{_LIST_MEMBER}(?:,[ \t]+{_LIST_MEMBER})+,?[ \t]+(?:and|&)[ \t]+{_LIST_MEMBER}"
    rf"|{_WORD}[ \t]+&[ \t]+{_WORD}"
)


def org_list_members(text: str, start: int, end: int) -> list[str]:
    """The first words of the members of a "Davis, Reynolds and Williamson" or
    "Johnson & Johnson" list the piece belongs to (the way firms are named), or []. The
    caller tells firms from people: a list of given names ("Anna, Ben and Carla") is people."""
    for m in _ORG_LIST.finditer(text, max(0, start - 80), min(len(text), end + 80)):
        if m.start() <= start and end <= m.end():
            members = re.split(r",[ \t]+|[ \t]+(?:and|&)[ \t]+|,", m.group())
            return [w.split()[0] for w in members if w.strip()]
    return []


LOWER_CUE_HINTS: Final = word_set(
    "name i'm hi hey hello dear thanks cc ping ask call mr mrs ms dr with"
)
LOWER_AFTER_CUE: Final = re.compile(
    r"\b(?:my\s+name\s+is|name\s*:|i'm|hi|hey|hello|dear|thanks|cc|ping|ask|call\s+me|"
    r"mr\.?|mrs\.?|ms\.?|dr\.?|"
    r"with|maiden\s+name\s+is)[ \t]+(?-i:([^\W\d_A-Z][\w'-]+(?:[ \t]+[^\W\d_A-Z][\w'-]+)?))",
    re.IGNORECASE,
)
