"""Text helpers for matching names the way people mean them."""

import re
import unicodedata

# Legal forms and filler words that do not tell two organisations apart.
NOISE = {"sp", "z", "o", "oo", "spolka", "sa", "sc", "spj", "sk", "ska", "ltd", "gmbh", "i"}


def fold(text: str) -> str:
    """Lower case without diacritics: 'Łódź' -> 'lodz'."""
    text = text.replace("ł", "l").replace("Ł", "L")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def name_key(text: str) -> str:
    """A key under which spellings of one name meet: 'Firma X Sp. z o.o.' -> 'firma x'."""
    words = re.findall(r"[a-z0-9]+", fold(text))
    return " ".join(w for w in words if w not in NOISE)
