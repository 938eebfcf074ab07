# ruff: noqa: RUF001, E501 - the phrases are data: typographic apostrophes on purpose, one expression a line
"""What a letter must not say to its reader: that they are one of a crowd, or that something happened to them
that did not.

Read by the personal-letter check (``letter_check.personal_letter_reasons``) on every letter. The phrases are
precise on purpose, because a false alarm holds a good letter:

- **Speaking to a crowd**: "some of you", "many of you", "those of you"; "ustedes" (always plural: the letters
  say usted); "certains d'entre vous", "parmi vous"; "einige von Ihnen", "Ihnen allen". Only the quantified
  forms in French and German, where vous and Sie are also the formal singular.
- **Hedging**: "your Friday ended with a cancelled or badly delayed flight" tells nobody what happened to them.
- **An impact the customer did not have**, said *to them*: "your flight was cancelled", "your cancelled
  flight", "your hotel", "you spent the night", "your connecting flight", "your flight was diverted"…
  General statements ("200 departures were cancelled", "hotel rooms are reserved in advance") are not claims,
  and neither is a conditional ("if your flight was cancelled, you have a new booking"): a phrase is skipped
  when an "if" (si, wenn, falls…) comes before it in its sentence.

The facts the letter states itself (the impact sentence, the entitlements, the other disrupted flights) are
true by construction and may speak of the customer's other flights: the caller removes them before asking.

Speed: the check runs on up to 100,000 letters. It reads sentence by sentence and remembers each sentence's
findings for the reader's facts, so the sentences letters share (the coordinator's paragraphs, the template's
wording) are read once per batch and only a letter's own sentences (the greeting, the flight) cost anything.
In a sentence, a claim is only looked for when one of its keywords is there, and each phrase starts with a
literal anchor ("your ", "votre ", "Ihr "), which ``re`` finds in C. English, Spanish and French are read in lower
case; German keeps its case (the formal Ihr, Sie and Ihnen are capitalised, and "ihr Flug" is her flight).
"""

from __future__ import annotations

import functools
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

COLLECTIVE, HEDGE = "collective", "hedge"
CANCELLED, DELAYED, LONG_DELAY = "cancelled", "delayed", "long_delay"
OVERNIGHT, CONNECTION, DIVERTED, DOWNGRADED = "overnight_stay", "missed_connection", "diverted", "downgraded"
LONG_DELAY_MINUTES = 120  # "hours late" is true from two hours on
CASE_SENSITIVE = frozenset({"de"})

REASONS = {
    COLLECTIVE: "Speaks to the customer as one of many (“{quote}”): write to them alone",
    HEDGE: "Hedges about what happened to the customer (“{quote}”): say what did",
    CANCELLED: "Says the customer's flight was cancelled, and it was not (“{quote}”)",
    DELAYED: "Says the customer's flight was delayed, and no delay is recorded for them (“{quote}”)",
    LONG_DELAY: "Says the customer's flight was hours late, and their delay was shorter (“{quote}”)",
    OVERNIGHT: "Speaks of a hotel or a night away, and the customer had no overnight stay (“{quote}”)",
    CONNECTION: "Speaks of a missed connection, and the customer missed none (“{quote}”)",
    DIVERTED: "Says the customer's flight was diverted, and it was not (“{quote}”)",
    DOWNGRADED: "Says the customer travelled in a lower cabin, and they were not downgraded (“{quote}”)",
}

# --- the crowd: fixed phrases, some only after a quantifier -----------------------------------------------

# The quantifiers that make "of you" and "von Ihnen" a crowd ("some of you"; not "thinking of you").
EN_QUANTIFIERS = frozenset({"some", "many", "most", "all", "each", "those", "few", "several", "none", "any", "one"})
EN_QUANTIFIERS |= {"both", "lot", "lots", "number", "majority"}
DE_QUANTIFIERS = frozenset({"einige", "viele", "manche", "meisten", "alle", "jeder", "jede", "jedem", "wenige"})
DE_QUANTIFIERS |= {"diejenigen", "mehrere", "keiner"}
ANY_WORD: frozenset[str] = frozenset()
# (phrase, the words one of which must come just before it; empty: any). Lower case but for German.
CROWD: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {
    "en": (("of you", EN_QUANTIFIERS), ("you guys", ANY_WORD), ("y'all", ANY_WORD), ("y’all", ANY_WORD)),
    "es": (("ustedes", ANY_WORD), ("vosotros", ANY_WORD), ("vosotras", ANY_WORD)),
    "fr": (
        ("d'entre vous", ANY_WORD),
        ("d’entre vous", ANY_WORD),
        ("parmi vous", ANY_WORD),
        ("vous tous", ANY_WORD),
        ("vous toutes", ANY_WORD),
    ),
    "de": (
        ("von Ihnen", DE_QUANTIFIERS),
        ("unter Ihnen", DE_QUANTIFIERS),
        ("Ihnen allen", ANY_WORD),
        ("euch", ANY_WORD),
    ),
}

# --- the claims: expressions that start with a literal anchor ------------------------------------------------

# One word (or a German ordinal, "8.") and the space after it: the text is whitespace-normalised.
_WORD = r"(?>\d+\.|[\w'’-]++),? "


def _w(most: int) -> str:
    """Up to ``most`` words, as few as possible."""
    return f"(?:{_WORD}){{0,{most}}}?"


def _each(starts: Iterable[str], rest: str) -> tuple[str, ...]:
    return tuple(start + rest for start in starts)


CLAIMS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        HEDGE: (rf"cancel+ed or {_w(3)}(?:delayed|late)\b", rf"delayed or {_w(2)}cancel+ed\b"),
        CANCELLED: (
            rf"your {_w(2)}flight {_w(4)}(?:was|has been|had been|had to be|got|is) cancel+ed\b",
            rf"your {_w(1)}cancel+ed {_w(1)}flight\b",
            rf"cancelled your {_w(2)}flight\b",
            rf"cancellation of your {_w(2)}flight\b",
        ),
        DELAYED: (
            rf"your {_w(2)}flight {_w(4)}(?:was|has been|had been) {_w(1)}delayed\b",
            rf"your {_w(1)}delayed {_w(1)}flight\b",
            rf"your {_w(2)}flight {_w(4)}(?:left|departed|arrived|landed|took off) {_w(3)}late\b",
            r"your delay\b",
        ),
        LONG_DELAY: (
            rf"your {_w(2)}flight {_w(4)}(?:left|departed|arrived|landed|took off|was) {_w(1)}hours (?:late|behind)\b",
            rf"your {_w(2)}flight {_w(4)}delayed (?:by|for) (?:many |several )?hours\b",
        ),
        OVERNIGHT: (
            rf"your {_w(1)}(?:hotel|overnight stay)\b",
            r"your (?:unplanned |unexpected |extra )?night\b(?! flight)",
            rf"you {_w(3)}(?:spend|spent|spending) (?:the|a|an) {_w(1)}night\b",
            r"the night you (?:had to )?(?:spend|spent)\b",
            rf"you {_w(2)}stayed (?:overnight|the night)\b",
        ),
        CONNECTION: (
            rf"your {_w(1)}(?:connection|connecting flight)\b",
            rf"you missed {_w(2)}(?:connection|connecting flight|onward flight)\b",
        ),
        DIVERTED: (
            rf"your {_w(2)}flight {_w(4)}(?:was|has been|had been|had to be) diverted\b",
            rf"your diverted {_w(1)}flight\b",
            rf"diverted your {_w(1)}flight\b",
        ),
        DOWNGRADED: (
            r"your downgrade\b",
            r"you (?:were|have been|had been) downgraded\b",
            rf"you {_w(2)}travel+ed in a lower (?:cabin|class)\b",
        ),
    },
    "es": {
        HEDGE: (
            *_each(
                ("cancelad", "anulad"),
                rf"[oa] o {_w(3)}(?:retrasad[oa]|con {_w(3)}retraso|{_w(1)}con {_w(3)}retraso)\b",
            ),
            *_each(("se canceló", "se anuló"), rf" o {_w(3)}(?:retrasad[oa]|{_w(1)}con {_w(3)}retraso)\b"),
            rf"retrasad[oa] o {_w(2)}(?:cancelad|anulad)[oa]\b",
        ),
        CANCELLED: (
            rf"su {_w(1)}vuelo {_w(5)}(?:fue|fuera|fuese|ha sido|haya sido|había sido|hubiera sido|tuvo que ser|quedó|resultó|estaba) (?:cancelad|anulad)o\b",
            rf"su {_w(1)}vuelo (?:cancelado|anulado|se canceló|se anuló)\b",
            *_each(
                ("cancelamos", "anulamos", "se canceló", "se anuló", "hemos cancelado", "hemos anulado"),
                rf" su {_w(1)}vuelo\b",
            ),
            *_each(("cancelación", "anulación"), rf" de su {_w(1)}vuelo\b"),
        ),
        DELAYED: (
            rf"su {_w(1)}vuelo {_w(5)}(?:se retrasó|fue retrasado|ha sido retrasado|sufrió {_w(2)}retraso|tuvo {_w(2)}retraso)",
            rf"su {_w(1)}vuelo {_w(5)}(?:salió|llegó|despegó|aterrizó) con {_w(3)}retraso\b",
            r"su vuelo retrasado\b",
            r"su retraso\b",
        ),
        LONG_DELAY: (
            rf"su {_w(1)}vuelo {_w(5)}(?:salió|llegó|despegó|aterrizó|sufrió|tuvo) (?:con )?(?:varias |muchas )?horas de retraso\b",
        ),
        OVERNIGHT: (
            rf"su {_w(1)}(?:hotel|estancia en el hotel|pernoctación|noche fuera)\b",
            *_each(("pasó", "tuvo que pasar", "ha tenido que pasar", "ha pasado"), rf" {_w(2)}(?:la|una) noche\b"),
        ),
        CONNECTION: (
            rf"su {_w(1)}(?:conexión|vuelo de conexión|enlace)\b",
            rf"perdió {_w(1)}(?:conexión|vuelo de conexión|enlace)\b",
        ),
        DIVERTED: (
            rf"su {_w(1)}vuelo {_w(5)}(?:fue|fuera|ha sido|haya sido|tuvo que ser) desviado\b",
            r"su vuelo desviado\b",
        ),
        DOWNGRADED: _each(("viajó", "tuvo que viajar"), r" en una (?:clase|cabina) inferior\b"),
    },
    "fr": {
        HEDGE: (
            rf"annulée? ou {_w(3)}(?:retardée?|en retard|{_w(3)}de retard)\b",
            rf"retardée? ou {_w(2)}annulée?\b",
        ),
        CANCELLED: (
            rf"votre {_w(1)}vol {_w(5)}(?:a été|ait été|avait été|aurait été|a dû être|est|était) annulé\b",
            rf"votre {_w(1)}vol annulé\b",
            *_each(("annulé", "annuler"), rf" votre {_w(1)}vol\b"),
            *_each(("l'annulation", "l’annulation"), rf" de votre {_w(1)}vol\b"),
        ),
        DELAYED: (
            rf"votre {_w(1)}vol {_w(5)}(?:a été|ait été|avait été) retardé\b",
            rf"votre {_w(1)}vol {_w(5)}(?:a eu|avait eu) {_w(6)}retard\b",
            rf"votre {_w(1)}vol {_w(5)}(?:est parti|est arrivé|a décollé|a atterri) (?:avec|en) {_w(6)}retard\b",
            r"votre vol retardé\b",
            r"votre retard\b",
        ),
        LONG_DELAY: (
            rf"votre {_w(1)}vol {_w(5)}(?:est parti|est arrivé|a décollé|a atterri|a eu) (?:avec )?(?:des|plusieurs|de longues) heures de retard\b",
        ),
        OVERNIGHT: (
            r"votre (?:hôtel|nuit à l['’]hôtel|nuit imprévue)\b",
            rf"vous avez (?:dû )?pass(?:é|er) {_w(2)}(?:la|une) {_w(1)}nuit\b",
        ),
        CONNECTION: (
            *_each(("manqué", "raté", "perdu"), rf" {_w(1)}correspondance\b"),
            r"votre vol de correspondance\b",
            r"votre correspondance (?:manquée|ratée|perdue)\b",
        ),
        DIVERTED: (
            rf"votre {_w(1)}vol {_w(5)}(?:a été|ait été|a dû être|ait dû être) dérouté\b",
            r"votre vol dérouté\b",
        ),
        DOWNGRADED: (
            rf"vous avez (?:dû )?voyag(?:é|er) {_w(1)}dans une classe inférieure\b",
            r"votre déclassement\b",
            r"vous avez été déclassée?\b",
        ),
    },
    "de": {
        HEDGE: (
            *_each(("annulliert", "gestrichen"), rf"\w* oder {_w(3)}(?:verspätet|Verspätung|{_w(1)}Verspätung)\w*"),
            rf"verspätet\w* oder {_w(2)}(?:annulliert|gestrichen)\w*",
        ),
        CANCELLED: (
            rf"Ihr {_w(1)}Flug {_w(6)}(?:wurde|ist|war|musste) {_w(2)}(?:annulliert|gestrichen|abgesagt)\b",
            rf"Ihr {_w(1)}Flug {_w(6)}(?:annulliert|gestrichen) (?:wurde|worden ist|war)\b",
            rf"Ihre?[nmr]? {_w(1)}(?:annullierte|gestrichene)[nmr]? {_w(1)}Flug",
            *_each(("Annullierung", "Streichung"), rf" Ihres {_w(1)}Flug"),
        ),
        DELAYED: (
            rf"Ihr {_w(1)}Flug {_w(6)}(?:hatte|war|ist) {_w(4)}(?:Verspätung|verspätet)\b",
            rf"Ihr {_w(1)}Flug {_w(6)}(?:Verspätung|verspätet) (?:hatte|war)\b",
            rf"Ihr {_w(1)}Flug {_w(6)}(?:startete|landete|kam) {_w(3)}(?:verspätet|zu spät|mit Verspätung)\b",
            rf"Ihre?[nmr]? {_w(1)}verspätete[nmr]? {_w(1)}Flug",
            r"Ihre Verspätung\b",
        ),
        LONG_DELAY: (
            rf"Ihr {_w(1)}Flug {_w(6)}(?:hatte|startete|landete|kam) (?:mit )?(?:stundenlanger?|mehrere[n]? Stunden|viele[n]? Stunden) (?:Verspätung|verspätet|zu spät)\b",
        ),
        OVERNIGHT: (
            rf"Ihr(?:e[nmr]?)? {_w(1)}(?:Hotel|Hotelzimmer|Übernachtung|Nacht)\b",
            rf"Sie {_w(3)}(?:die|eine) {_w(1)}Nacht {_w(3)}(?:verbringen|verbracht)\b",
            rf"Sie (?:mussten|haben|hatten) {_w(4)}(?:übernachten|übernachtet)\b",
        ),
        CONNECTION: (rf"Ihr(?:e[nmrs]?)? {_w(1)}Anschluss\w*",),
        DIVERTED: (
            rf"Ihr {_w(1)}Flug {_w(6)}(?:wurde|musste) {_w(4)}(?:umgeleitet|ausweichen)\b",
            rf"Ihr {_w(1)}Flug {_w(6)}umgeleitet wurde\b",
        ),
        DOWNGRADED: (
            rf"Sie (?:sind|mussten) {_w(2)}in einer niedrigeren (?:Klasse|Kabine) (?:gereist|reisen|geflogen|fliegen)\b",
            r"Ihre Herabstufung\b",
            rf"Sie wurden {_w(1)}herabgestuft\b",
        ),
    },
}

# A word each phrase of a claim contains, looked for near the anchor before its expression is tried: most
# "your " in a letter are "your flight UA 1545" or "your booking reference", and skipping them keeps the check
# to microseconds per letter.
KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        HEDGE: ("cancel",),
        CANCELLED: ("cancel",),
        DELAYED: ("delay", "late"),
        LONG_DELAY: ("hours",),
        OVERNIGHT: ("hotel", "night"),
        CONNECTION: ("connect", "onward"),
        DIVERTED: ("divert",),
        DOWNGRADED: ("downgrad", "lower"),
    },
    "es": {
        HEDGE: ("cancel", "anul"),
        CANCELLED: ("cancel", "anul"),
        DELAYED: ("retras",),
        LONG_DELAY: ("horas",),
        OVERNIGHT: ("hotel", "noche", "pernoct"),
        CONNECTION: ("conexión", "enlace"),
        DIVERTED: ("desviado",),
        DOWNGRADED: ("inferior",),
    },
    "fr": {
        HEDGE: ("annul",),
        CANCELLED: ("annul",),
        DELAYED: ("retard",),
        LONG_DELAY: ("heures",),
        OVERNIGHT: ("hôtel", "nuit"),
        CONNECTION: ("correspondance",),
        DIVERTED: ("dérouté",),
        DOWNGRADED: ("inférieure", "déclass"),
    },
    "de": {
        HEDGE: ("annulliert", "gestrichen"),
        CANCELLED: ("annulliert", "gestrichen", "abgesagt", "Annullierung", "Streichung"),
        DELAYED: ("Verspätung", "verspätet", "zu spät"),
        LONG_DELAY: ("Stunden", "stundenlang"),
        OVERNIGHT: ("Hotel", "Übernachtung", "übernacht", "Nacht"),
        CONNECTION: ("Anschluss",),
        DIVERTED: ("umgeleitet", "ausweichen"),
        DOWNGRADED: ("niedrigeren", "Herabstufung", "herabgestuft"),
    },
}

# A hedge is one when it speaks of the reader's flight: their possessive comes before it in its sentence.
POSSESSIVES = {"en": ("your ",), "es": ("su ",), "fr": ("votre ",), "de": ("Ihr", "Ihre")}

_META = set("\\.^$*+?{}[]|()")
MIN_ANCHOR = 3


def _anchor(pattern: str) -> str:
    """The literal text ``pattern`` starts with (a quantified last character is not part of it)."""
    end = 0
    while end < len(pattern) and pattern[end] not in _META:
        end += 1
    if end < len(pattern) and pattern[end] in "*+?{":
        end -= 1
    if end < MIN_ANCHOR:
        raise ValueError(f"a claim must start with a literal word to look for: {pattern!r}")
    return pattern[:end]


def _expressions(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """The patterns joined by their anchor's first word, the shared literal prefix outside the alternatives:
    ``re`` looks for an expression that starts with a literal in C."""
    groups: dict[str, list[str]] = defaultdict(list)
    for pattern in patterns:
        groups[_anchor(pattern).split(" ")[0]].append(pattern)
    expressions = []
    for group in groups.values():
        shared = os.path.commonprefix([_anchor(pattern) for pattern in group])  # noqa: RUF071 - characters, not paths
        branches = "|".join(pattern[len(shared) :] for pattern in group)
        expressions.append(re.compile(f"{re.escape(shared)}(?:{branches})"))
    return tuple(expressions)


# Per language, in the order of REASONS: (claim, its expressions); and (keyword, claim) for every keyword.
TABLE: dict[str, tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]] = {
    language: tuple((claim, _expressions(claims[claim])) for claim in REASONS if claim in claims)
    for language, claims in CLAIMS.items()
}
KEYWORD_CLAIMS: dict[str, tuple[tuple[str, str], ...]] = {
    language: tuple((word, claim) for claim, words in KEYWORDS[language].items() for word in words)
    for language in CLAIMS
}
_CONDITIONAL = re.compile(r"\b(?:[Ii]f|[Ww]hether|[Uu]nless|[Ss]i|[Ss]['’]il|[Ww]enn|[Ff]alls|[Ss]ofern|[Oo]b)\b")
# Sentences one letter shares with many (the coordinator's paragraphs, the template's wording) are read once.
SENTENCES_REMEMBERED = 20_000


def _starts_word(text: str, start: int) -> bool:
    return start == 0 or not text[start - 1].isalnum()


def _ends_word(text: str, end: int) -> bool:
    return end >= len(text) or not text[end].isalnum()


def _true_claims(impact: Mapping[str, Any]) -> frozenset[str]:
    """The claims a letter may make to this reader: what happened to them."""
    delay = int(impact.get("delay_minutes") or 0)
    true = {claim for claim in (CANCELLED, OVERNIGHT, CONNECTION, DIVERTED, DOWNGRADED) if impact.get(claim)}
    if delay > 0:
        true.add(DELAYED)
    if delay >= LONG_DELAY_MINUTES:
        true.add(LONG_DELAY)
    return frozenset(true)


def _crowd(text: str, language: str) -> tuple[int, int] | None:
    for phrase, quantifiers in CROWD.get(language, ()):
        start = text.find(phrase)
        while start >= 0:
            end = start + len(phrase)
            # The word before is quoted with the phrase ("certains d'entre vous"); after some phrases it must be a
            # quantifier ("some of you", not "thinking of you").
            begin = text.rfind(" ", 0, max(start - 1, 0)) + 1 if start else 0
            if (
                _starts_word(text, start)
                and _ends_word(text, end)
                and (not quantifiers or text[begin : max(start - 1, begin)].casefold() in quantifiers)
            ):
                return begin, end
            start = text.find(phrase, start + 1)
    return None


def _claim(sentence: str, language: str, claim: str, expressions: Iterable[re.Pattern[str]]) -> tuple[int, int] | None:
    for expression in expressions:
        for match in expression.finditer(sentence):
            start = match.start()
            if not _starts_word(sentence, start) or _CONDITIONAL.search(sentence, 0, start):
                continue  # "if your flight was cancelled, …" says nothing of this reader
            if claim == HEDGE and not any(sentence.find(word, 0, start) >= 0 for word in POSSESSIVES[language]):
                continue  # "a cancelled or delayed flight" in general, not the reader's
            return match.span()
    return None


@functools.lru_cache(maxsize=SENTENCES_REMEMBERED)
def _sentence_claims(sentence: str, language: str, true: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """What one sentence says that is not true to a reader of whom ``true`` is: (claim, the words that say it)."""
    lowered = sentence.lower()
    # Quoted as written: lower-casing keeps every position but in a few scripts' letters (İ), where it is read.
    quoting = sentence if len(lowered) == len(sentence) else lowered
    made: list[tuple[str, str]] = []
    for crowd_language in dict.fromkeys((language, "en")):  # English too: words still waiting for a translation
        if span := _crowd(sentence if crowd_language in CASE_SENSITIVE else lowered, crowd_language):
            made.append((COLLECTIVE, quoting[slice(*span)]))
            break
    read = sentence if language in CASE_SENSITIVE else lowered
    said = {claim for word, claim in KEYWORD_CLAIMS[language] if word in read and claim not in true}
    for claim, expressions in TABLE[language]:
        if claim in said and (span := _claim(read, language, claim, expressions)):
            made.append((claim, quoting[slice(*span)]))
    return tuple(made)


def _sentences(text: str) -> list[str]:
    """The text cut after each full stop, but the one of a German date ("am 8. Februar")."""
    sentences: list[str] = []
    for piece in text.split(". "):
        if sentences and sentences[-1][-1:].isdigit():
            sentences[-1] += ". " + piece
        else:
            sentences.append(piece)
    return sentences


def reader_claim_reasons(text: str, impact: Mapping[str, Any], *, language: str) -> list[str]:
    """Why ``text`` (whitespace-normalised, without the facts the letter states itself) is not true to a reader
    whose facts are ``impact`` (the letter's impact section): one reason per kind of claim, quoting the first
    phrase found. Read sentence by sentence in the letter's ``language``, and for a crowd in English too: a
    letter in another language may carry the coordinator's English words while their translation is missing."""
    language = language if language in TABLE else "en"
    true = _true_claims(impact)
    found: dict[str, str] = {}
    for sentence in _sentences(text):
        for claim, quote in _sentence_claims(sentence, language, true):
            found.setdefault(claim, quote)
    return [REASONS[claim].format(quote=found[claim]) + "." for claim in REASONS if claim in found]
