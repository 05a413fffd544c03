"""Written text -> spoken text: the author's pronunciation lexicon, then normalization.

Pure. The lexicon comes first so that an author's respelling always wins: an entry for
"C3PO" is said as written in the lexicon, not as normalization would read its digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from narrator.text.normalize import DATE_ORDERS, NormalizeOptions, normalize

Lexicon = tuple[tuple[str, str], ...]


@lru_cache(maxsize=8)
def _lexicon_pattern(lexicon: Lexicon) -> re.Pattern[str]:
    """One pattern for every word; longer words first so "New York" beats "New"."""
    words = sorted((word for word, _ in lexicon), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)")


def apply_lexicon(text: str, lexicon: Lexicon) -> str:
    """Replace whole, case-sensitive occurrences of each lexicon word with its respelling."""
    if not lexicon:
        return text
    respell = dict(lexicon)
    return _lexicon_pattern(lexicon).sub(lambda match: respell[match[0]], text)


@dataclass(frozen=True)
class Reading:
    """How written text is read aloud; calling it turns a piece of text into speech text."""

    lexicon: Lexicon = ()
    date_order: str = DATE_ORDERS[0]
    read_urls: bool = True

    def __call__(self, text: str) -> str:
        options = NormalizeOptions(date_order=self.date_order, read_urls=self.read_urls)
        return normalize(apply_lexicon(text, self.lexicon), options)
