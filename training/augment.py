"""Entity-swap augmentation: copies of training paragraphs with their countries exchanged (name, adjective and
capital together), so that a country's name stops deciding a topic that its news happens to be about. Applied to
training folds only, never to what is scored: cross-validation scores the original paragraphs."""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence

import numpy as np

# (country, adjective, capital): the places the corpus and the news tie most to one topic, and ordinary ones.
PLACES: tuple[tuple[str, str, str], ...] = (
    ("Russia", "Russian", "Moscow"),
    ("Ukraine", "Ukrainian", "Kyiv"),
    ("Syria", "Syrian", "Damascus"),
    ("Iran", "Iranian", "Tehran"),
    ("Iraq", "Iraqi", "Baghdad"),
    ("Israel", "Israeli", "Jerusalem"),
    ("China", "Chinese", "Beijing"),
    ("Taiwan", "Taiwanese", "Taipei"),
    ("Afghanistan", "Afghan", "Kabul"),
    ("Pakistan", "Pakistani", "Islamabad"),
    ("India", "Indian", "New Delhi"),
    ("Turkey", "Turkish", "Ankara"),
    ("Egypt", "Egyptian", "Cairo"),
    ("Libya", "Libyan", "Tripoli"),
    ("Sudan", "Sudanese", "Khartoum"),
    ("Yemen", "Yemeni", "Sanaa"),
    ("Lebanon", "Lebanese", "Beirut"),
    ("Nigeria", "Nigerian", "Abuja"),
    ("Kenya", "Kenyan", "Nairobi"),
    ("Ethiopia", "Ethiopian", "Addis Ababa"),
    ("Brazil", "Brazilian", "Brasilia"),
    ("Mexico", "Mexican", "Mexico City"),
    ("Argentina", "Argentine", "Buenos Aires"),
    ("Colombia", "Colombian", "Bogota"),
    ("Venezuela", "Venezuelan", "Caracas"),
    ("Canada", "Canadian", "Ottawa"),
    ("France", "French", "Paris"),
    ("Germany", "German", "Berlin"),
    ("Italy", "Italian", "Rome"),
    ("Spain", "Spanish", "Madrid"),
    ("Poland", "Polish", "Warsaw"),
    ("Sweden", "Swedish", "Stockholm"),
    ("Norway", "Norwegian", "Oslo"),
    ("Greece", "Greek", "Athens"),
    ("Japan", "Japanese", "Tokyo"),
    ("Indonesia", "Indonesian", "Jakarta"),
    ("Vietnam", "Vietnamese", "Hanoi"),
    ("Thailand", "Thai", "Bangkok"),
    ("Philippines", "Philippine", "Manila"),
    ("Australia", "Australian", "Canberra"),
    ("South Africa", "South African", "Pretoria"),
    ("Saudi Arabia", "Saudi", "Riyadh"),
    ("Qatar", "Qatari", "Doha"),
    ("Ireland", "Irish", "Dublin"),
    ("Chile", "Chilean", "Santiago"),
    ("Peru", "Peruvian", "Lima"),
)
_FORMS = {form: (i, kind) for i, place in enumerate(PLACES) for kind, form in enumerate(place)}
_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _FORMS), key=len, reverse=True)) + r")\b")


def swap_entities(texts: Sequence[str], y: np.ndarray, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """One copy of every paragraph that names a place of PLACES, with each place it names mapped to another one
    chosen at random (its adjective and capital following), and the same labels. Returns only the copies."""
    rng = random.Random(seed)
    copies, rows = [], []
    for i, text in enumerate(texts):
        named = {_FORMS[match][0] for match in _PATTERN.findall(text)}
        if not named:
            continue
        others = rng.sample([j for j in range(len(PLACES)) if j not in named], len(named))
        mapping = dict(zip(sorted(named), others, strict=True))
        copies.append(_PATTERN.sub(functools.partial(_replace, mapping), text))
        rows.append(i)
    return copies, y[rows]


def _replace(mapping: dict[int, int], match: re.Match[str]) -> str:
    place, form = _FORMS[match[1]]
    return PLACES[mapping[place]][form]


def augmented(texts: Sequence[str], y: np.ndarray, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`texts` and `y` followed by their entity-swapped copies."""
    copies, copy_y = swap_entities(texts, y, seed)
    return [*texts, *copies], np.vstack([y, copy_y]) if copies else y
