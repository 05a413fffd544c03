"""Text normalization: rewrite written text as the words a careful narrator would say.

espeak-ng reads many written forms badly ("1990s" as "nineteen hundred ninety z", "$5.50" as
"dollar five point five zero", "Dr." as "doctor" plus a sentence break), so each sentence is
rewritten before it reaches the engine. The rewrite is a fixed sequence of regex passes
(`_PASSES`) over one sentence or clause. Order matters: each pass consumes forms that a later,
more general pass would misread (dates before ranges, ranges before money and times, money and
units before years, years before plain numbers). Number words all come from num2words.

The passes are compiled, and num2words imported, when the first text is normalized (about
70 ms together): a build whose script comes from the cache normalizes nothing.

Only ASCII digits count as digits (`[0-9]`, never `\\d`): digits of other scripts belong to
text in those scripts and pass through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from anyascii import anyascii

DATE_ORDERS = ("mdy", "dmy")


@dataclass(frozen=True)
class NormalizeOptions:
    """How to read the forms a narrator could read more than one way."""

    date_order: str = DATE_ORDERS[0]  # numeric dates like 3/4/2021: "mdy" (US) or "dmy"
    read_urls: bool = True  # False: URLs and e-mail addresses are dropped

    def __post_init__(self) -> None:
        if self.date_order not in DATE_ORDERS:
            raise ValueError(f"date_order must be one of {DATE_ORDERS}, not {self.date_order!r}")


Handler = Callable[[re.Match[str], NormalizeOptions], str]

# Numbers longer than this are read digit by digit: nobody says "quintillion" aloud, and
# num2words gives up on large enough numbers.
_MAX_CARDINAL_DIGITS = 15

# --- Regex building blocks ------------------------------------------------------------------

_INT = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)"  # 1,234 or 1234
_NUM = rf"(?:(?<![0-9.,]){_INT}(?:\.[0-9]+)?|(?<![\w.,])\.[0-9]+)"  # also 3.14 and .5
_SIGNED = rf"(?:(?<![\w.,)\]])[-\u2212])?{_NUM}"  # a minus only where it cannot be a hyphen
_CURRENCY_CHARS = "$£€¥₹₩"
_ORDINAL_SUFFIX = r"(?:st|nd|rd|th)"
_AM_PM = r"(?P<ap>[AaPp])\.?[Mm]\b(?P<apdot>\.)?"
_ZERO_CENTS = re.compile(r"\.00(?![0-9])")
_ADDRESS_PREFIX = re.compile(r"^(?:[a-z]+://)?(?:www\.)?", re.IGNORECASE)
_ADDRESS_PIECES = re.compile(r"[^\W\d_]+|[0-9]+|.")
# What may follow a sentence-final abbreviation for its full stop to be the sentence's.
_TRAILING = re.compile(r"[\s\"'”\u2019)\]»]*\Z")


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of literal `words`, longest first so none shadows a longer one;
    a word ending in a letter must end there ("min" is not the start of "minutes")."""
    return "|".join(
        re.escape(w) + (r"\b" if w[-1].isalnum() else "")
        for w in sorted(words, key=len, reverse=True)
    )


# --- Tables ---------------------------------------------------------------------------------

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_SPELLINGS: dict[str, str] = {
    **{name: name for name in _MONTHS},
    **{name[:3]: name for name in _MONTHS if name != "May"},
    "Sept": "September",
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class _Currency:
    one: str
    many: str
    minor_one: str | None = None  # None: amounts are read as decimals ("point five")
    minor_many: str | None = None


_CURRENCIES: dict[str, _Currency] = {
    "$": _Currency("dollar", "dollars", "cent", "cents"),
    "£": _Currency("pound", "pounds", "penny", "pence"),
    "€": _Currency("euro", "euros", "cent", "cents"),
    "¥": _Currency("yen", "yen"),
    "₹": _Currency("rupee", "rupees"),
    "₩": _Currency("won", "won"),
}
# ISO codes written before or after an amount ("USD 5", "20 EUR"), read as the symbol is.
_CURRENCY_CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩"}
_SCALES = {"k": "thousand", "K": "thousand", "m": "million", "M": "million", "mn": "million"}
_SCALES |= {"bn": "billion", "b": "billion", "B": "billion", "tn": "trillion"}
_SCALE_WORDS = ("thousand", "million", "billion", "trillion")

# Unit symbols after a number: (singular, plural). These may touch the number ("5km").
_UNITS: dict[str, tuple[str, str]] = {
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "µm": ("micrometer", "micrometers"),
    "μm": ("micrometer", "micrometers"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "L": ("liter", "liters"),
    "mph": ("mile per hour", "miles per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "m/s": ("meter per second", "meters per second"),
    "km²": ("square kilometer", "square kilometers"),
    "m²": ("square meter", "square meters"),
    "cm²": ("square centimeter", "square centimeters"),
    "ft²": ("square foot", "square feet"),
    "m³": ("cubic meter", "cubic meters"),
    "cm³": ("cubic centimeter", "cubic centimeters"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "ºC": ("degree Celsius", "degrees Celsius"),
    "℃": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "ºF": ("degree Fahrenheit", "degrees Fahrenheit"),
    "℉": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "W": ("watt", "watts"),
    "kW": ("kilowatt", "kilowatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "MW": ("megawatt", "megawatts"),
    "V": ("volt", "volts"),
    "dB": ("decibel", "decibels"),
    "ms": ("millisecond", "milliseconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "px": ("pixel", "pixels"),
    "kcal": ("kilocalorie", "kilocalories"),
    "kbps": ("kilobit per second", "kilobits per second"),
    "Kbps": ("kilobit per second", "kilobits per second"),
    "Mbps": ("megabit per second", "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"),
    "mAh": ("milliamp hour", "milliamp hours"),
    "mA": ("milliamp", "milliamps"),
    "kJ": ("kilojoule", "kilojoules"),
    "kPa": ("kilopascal", "kilopascals"),
    "psi": ("pound per square inch", "pounds per square inch"),
    "gal": ("gallon", "gallons"),
    "ha": ("hectare", "hectares"),
    "ns": ("nanosecond", "nanoseconds"),
    "µs": ("microsecond", "microseconds"),
    "mpg": ("mile per gallon", "miles per gallon"),
    "rpm": ("revolution per minute", "revolutions per minute"),
    "sq ft": ("square foot", "square feet"),
    "sq mi": ("square mile", "square miles"),
    "sq km": ("square kilometer", "square kilometers"),
    "sq m": ("square meter", "square meters"),
    "sq yd": ("square yard", "square yards"),
    "cu ft": ("cubic foot", "cubic feet"),
    "fl oz": ("fluid ounce", "fluid ounces"),
    "tbsp": ("tablespoon", "tablespoons"),
    "tsp": ("teaspoon", "teaspoons"),
    "qt": ("quart", "quarts"),
    "x": ("times", "times"),  # "2.5x faster"
}
# Square and cubic forms of the lengths: "km²", "km2", "km^2", "m³".
_LENGTHS = {"km": "kilometer", "m": "meter", "cm": "centimeter", "mm": "millimeter"}
_LENGTHS |= {"mi": "mile", "ft": "foot", "in": "inch", "yd": "yard"}
for _length, _name in _LENGTHS.items():
    _names = {"foot": "feet", "inch": "inches"}.get(_name, _name + "s")
    for _power, _marks in (("square", ("²", "2", "^2")), ("cubic", ("³", "3", "^3"))):
        for _mark in _marks:
            _UNITS[_length + _mark] = (f"{_power} {_name}", f"{_power} {_names}")
# Units that are also common letters or words, so only taken with a space after the number:
# "5m" is as often five million as five meters, "52s" a plural, "in" a preposition.
_SPACED_UNITS: dict[str, tuple[str, str]] = {
    "m": ("meter", "meters"),
    "s": ("second", "seconds"),
    "l": ("liter", "liters"),
    "in.": ("inch", "inches"),
    "in": ("inch", "inches"),  # only before punctuation or the end: "5 in the box" is not
}
_ALL_UNITS = _UNITS | _SPACED_UNITS

_UNICODE_FRACTIONS = {
    "½": "1/2",
    "⅓": "1/3",
    "⅔": "2/3",
    "¼": "1/4",
    "¾": "3/4",
    "⅕": "1/5",
    "⅖": "2/5",
    "⅗": "3/5",
    "⅘": "4/5",
    "⅙": "1/6",
    "⅚": "5/6",
    "⅐": "1/7",
    "⅛": "1/8",
    "⅜": "3/8",
    "⅝": "5/8",
    "⅞": "7/8",
    "⅑": "1/9",
    "⅒": "1/10",
}
# Denominators read as fractions, by their ordinal ("22/7" "twenty-two sevenths") but for
# those below. Pairs that name something else ("24/7", "9/11") are two numbers.
_DENOMINATORS = frozenset({*range(2, 21), 25, 30, 32, 50, 64, 100})
_FRACTION_WORDS = {2: ("half", "halves"), 4: ("quarter", "quarters")}  # (singular, plural)
_NOT_FRACTIONS = frozenset({"24/7", "9/11", "7/11", "50/50", "20/20", "4/20", "60/40", "80/20"})

# Titles read out before a capitalised name. Those in _BARE_TITLES are also written without
# a full stop (British style: "Dr Smith"); the rest need one ("Gen Z" is not a general).
_TITLES = {
    "Dr": "Doctor",
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "St": "Saint",
    "Prof": "Professor",
    "Rev": "Reverend",
    "Capt": "Captain",
    "Lt": "Lieutenant",
    "Sgt": "Sergeant",
    "Gen": "General",
    "Gov": "Governor",
    "Sen": "Senator",
    "Fr": "Father",
    "Mt": "Mount",
    "Ft": "Fort",
}
_BARE_TITLES = ("Dr", "Mr", "Mrs", "Ms", "St")
# Titles that are also street types, after a name: "Elm St.", "Mulholland Dr."
_STREETS = {"St": "Street", "Dr": "Drive"}

# Abbreviations expanded wherever they stand; a capitalised form ("E.g.") is also matched.
# "St." here is what is left after the title pass took "St." before names: a street.
_ABBREVIATIONS = {
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "&c.": "et cetera",
    "vs.": "versus",
    "vs": "versus",
    "approx.": "approximately",
    "cf.": "compare",
    "viz.": "namely",
    "incl.": "including",
    "esp.": "especially",
    "Dr.": "Doctor",
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Ms.": "Miz",
    "Prof.": "Professor",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "St.": "Street",
    "Ave.": "Avenue",
    "Rd.": "Road",
    "Blvd.": "Boulevard",
    "Ltd.": "Limited",
}

_SENTENCE_ENDERS = ("etc.", "&c.", "Jr.", "Sr.", "Ltd.")
_NEXT_SENTENCE = re.compile(r"\s+[A-Z]")

# Abbreviations and symbols that mean something only before a number ("no. 5", "#1", "~5").
_BEFORE_NUMBER = {
    "no.": "number",
    "b.": "born",
    "d.": "died",
    "nos.": "numbers",
    "#": "number",
    "ext.": "extension",
    "p.": "page",
    "pp.": "pages",
    "vol.": "volume",
    "ch.": "chapter",
    "fig.": "figure",
    "c.": "circa",
    "ca.": "circa",
    "~": "about",
    "≈": "approximately",
}

# Words after which a Roman numeral is a plain number ("Chapter IV", "World War II").
_NUMBERED_THINGS = (
    "chapter",
    "part",
    "book",
    "volume",
    "act",
    "scene",
    "section",
    "article",
    "appendix",
    "episode",
    "phase",
    "stage",
    "type",
    "class",
    "grade",
    "level",
    "round",
    "series",
    "title",
    "vatican",
    "world war",
    "war",
)
# Words before a 4-digit number that make it a count or label rather than a year.
_QUANTITY_CUES = ("number", "numbers", "page", "pages", "room", "flight", "route", "version")

_URL_SYMBOLS = {
    ".": "dot",
    "/": "slash",
    "@": "at",
    "-": "dash",
    "_": "underscore",
    ":": "colon",
    "?": "question mark",
    "=": "equals",
    "&": "and",
    "#": "hash",
    "~": "tilde",
    "%": "percent",
    "+": "plus",
}
_DOMAINS = ("com", "org", "net", "edu", "gov", "io", "co.uk", "org.uk", "info", "dev", "ai")

# Symbols left after every pass that knew their context; espeak-ng would spell them out.
_SYMBOLS = {
    "&": "and",
    "@": "at",
    "+": "plus",
    "=": "equals",
    "\u00d7": "times",
    "\u2212": "minus",
    "±": "plus or minus",
    "≈": "approximately",
    "%": "percent",
    "°": "degrees",
    **{symbol: currency.many for symbol, currency in _CURRENCIES.items()},
}
# What follows a slash after an amount: "$20/mo" is "twenty dollars a month", "12/kg"
# "twelve per kilogram" (any unit symbol), "5 mg/day" "five milligrams per day".
_PER = {
    "s": "second",
    "sec": "second",
    "min": "minute",
    "h": "hour",
    "hr": "hour",
    "hour": "hour",
    "d": "day",
    "day": "day",
    "night": "night",
    "wk": "week",
    "week": "week",
    "mo": "month",
    "mth": "month",
    "month": "month",
    "yr": "year",
    "y": "year",
    "year": "year",
    "annum": "annum",
    "person": "person",
    "head": "head",
    "unit": "unit",
    "item": "item",
    "piece": "piece",
    "kWh": "kilowatt hour",
}
_MONEY_WORDS = ("dollars", "dollar", "euros", "pounds", "cents", "bucks", "yen")
_UNIT_WORDS = frozenset(word for pair in _UNITS.values() for word in pair) | {
    "miles",
    "kilometers",
    "meters",
    "words",
    "calls",
    "visits",
}
# File names read as names: "report.pdf" -> "report dot pdf".
_FILE_EXTENSIONS = [
    "pdf",
    "txt",
    "md",
    "csv",
    "tsv",
    "json",
    "xml",
    "yaml",
    "yml",
    "html",
    "htm",
    "css",
    "js",
    "ts",
    "py",
    "rb",
    "go",
    "rs",
    "java",
    "c",
    "h",
    "cpp",
    "sh",
    "exe",
    "dll",
    "zip",
    "tar",
    "gz",
    "tgz",
    "rar",
    "jpg",
    "jpeg",
    "png",
    "gif",
    "svg",
    "webp",
    "mp3",
    "mp4",
    "wav",
    "flac",
    "mov",
    "avi",
    "mkv",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "ppt",
    "pptx",
    "odt",
    "ini",
    "cfg",
    "toml",
    "log",
    "bak",
    "iso",
    "dmg",
    "apk",
    "epub",
]
# Letters a word needs to be a foreign word read transliterated: Greek and Cyrillic.
_FOREIGN_LETTERS = "\u0370-\u03ff\u1f00-\u1fff\u0400-\u04ff"
# Scripts with no reading here (CJK, kana, Hangul, Arabic, Hebrew, Indic, Thai...): left out.
_UNREADABLE_LETTERS = (
    "\u0590-\u065f\u066a-\u06ef\u0900-\u0dff\u0e00-\u0eff\u1100-\u11ff\u3040-\u30ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_UNREADABLE = re.compile(
    rf"[{_UNREADABLE_LETTERS}]+(?:[\s\u3000-\u303f\uff00-\uffef]*[{_UNREADABLE_LETTERS}]+)*[\u3000-\u303f\uff00-\uffef]*"
)
# Emoji and their joiners, skin tones and variation selectors: not spoken.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u20e3]+")
# A "word" longer than this that is not an address is noise: left out, not spelled.
MAX_WORD_CHARS = 50
_NOISE = re.compile(rf"[^\s\u2013\u2014]{{{MAX_WORD_CHARS + 1},}}")
_CAMEL_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

# Words joined by a slash that are read without "or" between them ("and/or").
_SLASH_CONJUNCTIONS = ("and", "or")

# --- Number words ---------------------------------------------------------------------------


def _num2words(number: int, to: str = "cardinal") -> str:
    """num2words' English words for `number` (imported here: see the module docstring)."""
    from num2words import num2words

    return num2words(number, lang="en", to=to)


def _digits(digits: str) -> str:
    """Digits read one by one: "0042" -> "zero zero four two"."""
    return " ".join(_num2words(int(d)) for d in digits)


@lru_cache(maxsize=4096)
def _cardinal(digits: str) -> str:
    """A whole number, commas allowed. Zero-padded ("007") and huge ones go digit by digit."""
    digits = digits.replace(",", "")
    if len(digits) > _MAX_CARDINAL_DIGITS or (len(digits) > 1 and digits.startswith("0")):
        return _digits(digits)
    return _num2words(int(digits))


@lru_cache(maxsize=1024)
def _ordinal(value: int) -> str:
    return _num2words(value, to="ordinal")


@lru_cache(maxsize=1024)
def _year(digits: str) -> str:
    return _num2words(int(digits), to="year")


def _short_year(digits: str) -> str:
    """Two digits of a year, said as in the full year: "75" -> "seventy-five", "05" ->
    "oh-five" (from "nineteen oh-five"); "00" is the year 2000."""
    return _year("2000") if digits == "00" else _year("19" + digits).split(" ", 1)[1]


def _number(text: str) -> str:
    """A number as written: sign, commas, decimals ("-3.14" -> "minus three point one four")."""
    whole, _, fraction = text.lstrip("-\u2212").partition(".")
    words = [_cardinal(whole)] if whole else []
    if fraction:
        words += ["point", _digits(fraction)]
    sign = ["minus"] if text[0] in "-\u2212" else []
    return " ".join(sign + words)


def _plural(words: str) -> str:
    """Pluralise the last word of a number: "nineteen ninety" -> "nineteen nineties"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + ("es" if words.endswith("x") else "s")


def _capitalised_like(written: str, words: str) -> str:
    """`words` with a capital first letter if `written` has one ("E.g." -> "For example")."""
    return words[:1].upper() + words[1:] if written[:1].isupper() else words


def _full_stop(match: re.Match[str]) -> str:
    """A full stop if the match ends the sentence with one of its own ("etc." at the end)."""
    ends = match.group(0).endswith(".") and _TRAILING.match(match.string, match.end())
    return "." if ends else ""


def _preceded_by(match: re.Match[str], word: str) -> bool:
    before = match.string[: match.start()].split()
    return bool(before) and before[-1].lower() == word


def _say_date(day: int, month: int, year: str | None, match: re.Match[str], order: str) -> str:
    """A date as spoken in the US ("March fourth, ...") or Britain ("the fourth of March")."""
    name = _MONTHS[month - 1]
    if order == "mdy":
        spoken = f"{name} {_ordinal(day)}"
    else:
        the = "" if _preceded_by(match, "the") else "the "
        spoken = f"{the}{_ordinal(day)} of {name}"
    if not year:
        return spoken
    return f"{spoken}, {_year(year) if len(year) == 4 else _short_year(year)}"


def _valid_date(day: int, month: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


# --- Handlers, one per pass -----------------------------------------------------------------


def _drop(match: re.Match[str], options: NormalizeOptions) -> str:
    return ""


def _unicode_fraction(match: re.Match[str], options: NormalizeOptions) -> str:
    return _UNICODE_FRACTIONS[match.group(0)]


def _speak_address(address: str) -> str:
    """An address read out: "www.example.com/a-b" -> "example dot com slash a dash b"."""
    words = []
    for piece in _ADDRESS_PIECES.findall(_ADDRESS_PREFIX.sub("", address).rstrip("/")):
        if piece[0].isalpha():
            words.append(piece)
        elif piece.isascii() and piece.isdigit():
            words.append(_cardinal(piece))
        elif piece in _URL_SYMBOLS:
            words.append(_URL_SYMBOLS[piece])
    return " ".join(words)


def _address(match: re.Match[str], options: NormalizeOptions) -> str:
    open_, close = match.group("open") or "", match.group("close") or ""
    if not options.read_urls:  # dropped with its brackets, or if unclosed with its space only
        return match.group("lead") + open_ if open_ and not close else ""
    return f"{match.group('lead')}{open_}{_speak_address(match.group('address'))}{close}"


def _noise(match: re.Match[str], options: NormalizeOptions) -> str:
    """A "word" too long to be one is left out (`left_out` warns of it); an address stays."""
    return match.group(0) if _ADDRESSES.search(match.group(0)) else ""


def _leave_out(match: re.Match[str], options: NormalizeOptions) -> str:
    """Left out; a space stays where the match parted two words ("a👍b")."""
    text, start, end = match.string, match.start(), match.end()
    parted = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
    return " " if parted else ""


def _phone(match: re.Match[str], options: NormalizeOptions) -> str:
    """A phone number: its groups digit by digit with a pause between them, a leading plus
    read, a toll-free "800" said as a number, letters ("FLOWERS") kept as a word."""
    written = match.group(0)
    groups = _PHONE_GROUPS.findall(written)
    words = []
    for index, group in enumerate(groups):
        if group.isalpha():
            words.append(group.lower())
        elif index == 1 and groups[0] == "1" and group in ("800", "900"):
            words.append(_cardinal(group))
        else:
            words.append(_digits(group))
    return ("plus " if written.startswith("+") else "") + ", ".join(words)


def _code(match: re.Match[str], options: NormalizeOptions) -> str:
    """A code of hyphenated pieces ("978-0-306-40615-7", "SM-G950F", "COVID-19"): letters
    as written, short numbers as numbers, longer ones digit by digit."""
    words = []
    for piece in _CODE_PIECES.findall(match.group(0)):
        if not piece.isdigit():
            words.append(piece)
        elif len(piece) <= 2 and not (len(piece) == 2 and piece.startswith("0")):
            words.append(_cardinal(piece))
        else:
            words.append(_digits(piece))
    return " ".join(words)


def _code_number(match: re.Match[str], options: NormalizeOptions) -> str:
    """A numbered label with a letter in brackets: "401(k)" -> "four oh one k"."""
    digits = match.group("n")
    if len(digits) == 3:
        tail = "oh " + _cardinal(digits[2]) if digits[1] == "0" else _cardinal(digits[1:])
        spoken = f"{_cardinal(digits[0])} {tail}"
    else:
        spoken = _cardinal(digits)
    return " ".join([spoken, *re.findall(r"[0-9]+|[A-Za-z]+", match.group("tail"))])


def _ip_address(match: re.Match[str], options: NormalizeOptions) -> str:
    return " dot ".join(_digits(part) for part in match.group(0).split("."))


def _file_name(match: re.Match[str], options: NormalizeOptions) -> str:
    return f"{_speak_address(match.group('stem'))} dot {match.group('ext')}"


def _handle(match: re.Match[str], options: NormalizeOptions) -> str:
    """ "@jack_dorsey" -> "at jack underscore dorsey"."""
    return "at " + _speak_address(match.group("name"))


def _hashtag(match: re.Match[str], options: NormalizeOptions) -> str:
    """ "#BlackLivesMatter" -> "hashtag Black Lives Matter"."""
    return "hashtag " + " ".join(_CAMEL_WORDS.findall(match.group("tag")))


def _foreign_word(match: re.Match[str], options: NormalizeOptions) -> str:
    """A word in Greek or Cyrillic letters, as an English narrator says it: transliterated
    ("κοσμος" -> "kosmos"). Other scripts are left out (see `unreadable`)."""
    return anyascii(match.group(0))


def _rate(match: re.Match[str], options: NormalizeOptions) -> str:
    """ "/mo" after an amount: "a month" after money, "per" after anything else."""
    per = match.group("per")
    before = match.string[: match.start()].rstrip().rsplit(None, 2)[-2:]
    last = before[-1] if before else ""
    if last.lstrip("0123456789.,") + "/" + per in _ALL_UNITS:
        return match.group(0)  # "5m/s": a unit of its own
    counted = len(before) > 1 and _DIGIT.search(before[-2].rsplit(None, 1)[-1])
    if not (_DIGIT.search(last) or counted or last in _ALL_UNITS or last.lower() in _UNIT_WORDS):
        return match.group(0)
    name = _PER[per] if per in _PER else _ALL_UNITS[per][0]
    money = any(c in last for c in _CURRENCY_CHARS) or last.lower() in _MONEY_WORDS
    if money and per in _PER:
        return f" {'an' if name[0] in 'aeiou' or name == 'hour' else 'a'} {name}"
    return f" per {name}"


def _title(match: re.Match[str], options: NormalizeOptions) -> str:
    """A title before a name; "St." or "Dr." after a name or a house number is a street
    ("Elm St. Louis" is rare, "14 Elm St. Then" common): Street, Drive."""
    title = match.group("title")
    if title in _STREETS and _after_name(match, opening=False):
        return _STREETS[title] + ("." if match.group(0).endswith(".") else "")
    return _TITLES[title]


def _after_name(match: re.Match[str], opening: bool = True) -> bool:
    """Whether the match follows a name or a house number: where "St." is a street. Before
    another name ("Visit St. Paul's"), a capitalised word opening the text is no name."""
    before = match.string[: match.start()].split()
    if not before:
        return False
    last = before[-1]
    return last.isdigit() or (
        (opening or len(before) > 1)
        and last[:1].isupper()
        and last.isalpha()
        and last not in _TITLES
    )


def _abbreviation(match: re.Match[str], options: NormalizeOptions) -> str:
    """An abbreviation spelled out, keeping a full stop that also ended the sentence: at the
    end, or before a capital when the abbreviation is one that often ends a sentence."""
    written = match.group(0)
    expansion = _ABBREVIATIONS.get(written) or _ABBREVIATIONS[written[0].lower() + written[1:]]
    if written.rstrip(".") in _STREETS:
        expansion = _STREETS[written.rstrip(".")] if _after_name(match) else expansion
    ends = written in _SENTENCE_ENDERS and _NEXT_SENTENCE.match(match.string, match.end())
    return _capitalised_like(written, expansion) + ("." if ends else _full_stop(match))


def _before_number(match: re.Match[str], options: NormalizeOptions) -> str:
    written = match.group("word")
    return _capitalised_like(written, _BEFORE_NUMBER[written.lower()]) + " "


def _iso_date(match: re.Match[str], options: NormalizeOptions) -> str:
    day, month = int(match.group("d")), int(match.group("m"))
    return _say_date(day, month, match.group("y"), match, options.date_order)


def _numeric_date(match: re.Match[str], options: NormalizeOptions) -> str:
    """3/4/2021: month first or day first as configured, the other way if only that fits."""
    first, second, year = int(match.group("a")), int(match.group("b")), match.group("y")
    if len(year) == 2 and match.group("sep") != "/":
        return match.group(0)  # "1.2.10" is a version, "3-4-21" a score
    month, day = (first, second) if options.date_order == "mdy" else (second, first)
    if not _valid_date(day, month):
        month, day = day, month
        if not _valid_date(day, month):
            return match.group(0)
    return _say_date(day, month, year, match, options.date_order)


def _month_day(match: re.Match[str], options: NormalizeOptions) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return match.group(0)
    return f"{_MONTH_SPELLINGS[match.group('month')]} {_ordinal(day)}"


def _day_month(match: re.Match[str], options: NormalizeOptions) -> str:
    """Day before month: "3rd of May" keeps its words, "3 May" becomes "the third of May"."""
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return match.group(0)
    month = _MONTHS.index(_MONTH_SPELLINGS[match.group("month")]) + 1
    spoken = _say_date(day, month, match.group("y"), match, "dmy")
    if match.group("of"):
        spoken = spoken.removeprefix("the ")
    return spoken + _full_stop(match)


def _range(match: re.Match[str], options: NormalizeOptions) -> str:
    """A range, "1914-1918" -> "1914 to 1918" ("between 1914 and 1918"). A currency written
    once moves to the end: "$5-10" -> "5 to $10", read "five to ten dollars"; an amount with
    cents keeps its own. A year's short end is made whole ("1990-95" -> "1990 to 1995").

    Two plain numbers where the second is not past the first ("978-0") are not a range but
    a code, read digit by digit; small ones ("3-2") are a score, read "to" all the same."""
    start, end = match.group("a"), match.group("b")
    if start.isdigit() and end.isdigit() and match.group("sep") == "-":
        whole = start[: len(start) - len(end)] + end  # "1990-95", "pp. 100-10"
        if len(start) > 2 and len(end) < len(start) and int(whole) > int(start):
            end = whole
        elif int(end) <= int(start) and max(len(start), len(end)) > 2:
            return f"{_digits(start)}, {_digits(end)}"
    start, end = _ZERO_CENTS.sub("", start), _ZERO_CENTS.sub("", end)
    symbol = start[:1]
    if symbol in _CURRENCIES and end[:1] not in _CURRENCIES:
        end = symbol + end
    # Said once at the end ("five to ten dollars") unless the start has cents or a scale.
    if symbol in _CURRENCIES and end[:1] == symbol and start[1:].replace(",", "").isdigit():
        start = start[1:]
    joiner = "and" if _preceded_by(match, "between") else "to"
    return f"{start} {joiner} {end}"


def _am_pm(match: re.Match[str]) -> str:
    """The spoken AM or PM, if any: espeak-ng reads "AM" as letters, but "a m" as "uh em"."""
    if not match.group("ap"):
        return ""
    stop = "." if match.group("apdot") and _TRAILING.match(match.string, match.end()) else ""
    return f" {match.group('ap').upper()}M{stop}"


def _clock(match: re.Match[str], options: NormalizeOptions) -> str:
    hour, minute = int(match.group("h")), int(match.group("min"))
    words = [_cardinal(str(hour))]
    if minute == 0:
        if not match.group("ap"):
            words.append("o'clock" if 1 <= hour <= 12 else "hundred")
    elif minute < 10:
        words += ["oh", _cardinal(str(minute))]
    else:
        words.append(_cardinal(str(minute)))
    return " ".join(words) + _am_pm(match)


def _duration(match: re.Match[str], options: NormalizeOptions) -> str:
    """ "1:01:01" -> "one hour, one minute and one second" (zero parts left out)."""
    values = [int(match.group(name)) for name in ("h", "min", "s")]
    parts = [
        f"{_cardinal(str(value))} {unit if value == 1 else unit + 's'}"
        for value, unit in zip(values, ("hour", "minute", "second"), strict=True)
        if value
    ]
    if not parts:
        return "zero seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _hour(match: re.Match[str], options: NormalizeOptions) -> str:
    return _cardinal(str(int(match.group("h")))) + _am_pm(match)


def _money(match: re.Match[str], options: NormalizeOptions) -> str:
    after = "cur2" in match.re.groupindex  # "20€", "5 million USD"
    prefix = "x" if after else ""
    symbol = match.group("cur2") if after else match.group("cur") or match.group("code")
    currency = _CURRENCIES[_CURRENCY_CODES.get(symbol, symbol)]
    amount = match.group(prefix + "num")
    sign = "minus " if match.group("sign2" if after else "sign") else ""
    abbreviation = match.group(prefix + "scale_abbr") or ""
    scale = match.group(prefix + "scale_word") or _SCALES.get(abbreviation)
    if scale:
        return f"{sign}{_number(amount)} {scale} {currency.many}"
    whole, _, fraction = amount.partition(".")
    if fraction and (currency.minor_one is None or len(fraction) > 2):
        return f"{sign}{_number(amount)} {currency.many}"
    units = int(whole.replace(",", "") or "0")
    minor = int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if units or not minor:
        parts.append(f"{_cardinal(whole or '0')} {currency.one if units == 1 else currency.many}")
    if minor:
        name = currency.minor_one if minor == 1 else currency.minor_many
        parts.append(f"{_cardinal(str(minor))} {name}")
    return sign + " and ".join(parts)


def _percent(match: re.Match[str], options: NormalizeOptions) -> str:
    return f"{_number(match.group('num'))} percent"


def _era(match: re.Match[str], options: NormalizeOptions) -> str:
    """A year with its era ("44 BC", "AD 1066"): the era stays, espeak-ng spells it."""
    year, era = match.group("y") or match.group("y2"), match.group("e") or match.group("e2")
    era = era.replace(".", "")
    words = _year(year)
    return f"{era} {words}" if match.group("e2") else f"{words} {era}{_full_stop(match)}"


def _plural_number(match: re.Match[str], options: NormalizeOptions) -> str:
    """Decades and plural numbers: "1990s", "'90s", "1800s", "100s" ("hundreds")."""
    digits = match.group("n")
    if digits == "00":  # the '00s, the decade of 2000
        digits = "2000"
    value = int(digits)
    if 1100 <= value <= 2099 and value % 10 == 0:
        return _plural(_year(digits))
    words = _cardinal(digits)
    return _plural(words.removeprefix("one ") if value >= 100 else words)


def _year_in_short(match: re.Match[str], options: NormalizeOptions) -> str:
    return _short_year(match.group("n"))


def _ordinal_number(match: re.Match[str], options: NormalizeOptions) -> str:
    return _ordinal(int(match.group("n").replace(",", "")))


def _version(match: re.Match[str], options: NormalizeOptions) -> str:
    return " point ".join(_cardinal(part) for part in match.group(0).split("."))


def _fraction(match: re.Match[str], options: NormalizeOptions) -> str:
    numerator, denominator = int(match.group("n")), int(match.group("d"))
    pair = f"{match.group('n')}/{match.group('d')}"
    if denominator not in _DENOMINATORS or numerator == 0 or pair in _NOT_FRACTIONS:
        return match.group(0)
    ordinal = _ordinal(denominator)
    one, many = _FRACTION_WORDS.get(denominator, (ordinal, ordinal + "s"))
    whole = match.group("whole")
    if whole and numerator == 1:
        article = "an" if one[0] in "aeiou" else "a"
        return f"{_cardinal(whole)} and {article} {one}"
    words = f"{_cardinal(str(numerator))} {one if numerator == 1 else many}"
    return f"{_cardinal(whole)} and {words}" if whole else words


def _unit(match: re.Match[str], options: NormalizeOptions) -> str:
    amount, scale = match.group("num"), match.group("scale")
    symbol = match.group("unit") or match.group("spaced_unit")
    if symbol == "in" and not _AFTER_INCHES.match(match.string, match.end()):
        return match.group(0)  # "5 in the box": a preposition
    one, many = _ALL_UNITS[symbol]
    name = one if amount.lstrip("-\u2212") == "1" and not scale else many
    number = f"{_number(amount)} {scale}" if scale else _number(amount)
    return f"{number} {name}{_full_stop(match)}"


def _numbered_thing(match: re.Match[str], options: NormalizeOptions) -> str:
    """A numbered thing, "Chapter IV" -> "Chapter Four". A lone "I" only after a capitalised
    word other than a bare "War" ("the War I fought"); a lone L is a label ("Section L").
    """
    word, numeral = match.group("word"), match.group("numeral")
    lone_i_ok = word[0].isupper() and word.lower() != "war"
    if numeral == "L" or (numeral == "I" and not lone_i_ok):
        return match.group(0)
    return f"{word} {_cardinal(str(_roman_value(numeral))).title()}"


def _regnal(match: re.Match[str], options: NormalizeOptions) -> str:
    return f"{match.group('name')} the {_ordinal(_roman_value(match.group('numeral'))).title()}"


_ROMAN_DIGITS = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _roman_value(numeral: str) -> int:
    """The value of a well-formed Roman numeral (the patterns admit only those)."""
    values = [_ROMAN_DIGITS[c] for c in numeral]
    return sum(-v if v < after else v for v, after in zip(values, [*values[1:], 0], strict=True))


def _year_number(match: re.Match[str], options: NormalizeOptions) -> str:
    cue = match.group("cue")
    return f"{cue} {_cardinal(match.group('y'))}" if cue else _year(match.group("y"))


def _plain_number(match: re.Match[str], options: NormalizeOptions) -> str:
    return _number(match.group(0))


def _slashed_words(match: re.Match[str], options: NormalizeOptions) -> str:
    """Words joined by slashes: "his/her" -> "his or her", "and/or" -> "and or", "TCP/IP" ->
    "TCP IP"."""
    words = match.group(0).split("/")
    alternatives = all(w.islower() for w in words) and not any(
        w in _SLASH_CONJUNCTIONS for w in words
    )
    return (" or " if alternatives else " ").join(words)


def _symbol(match: re.Match[str], options: NormalizeOptions) -> str:
    return f" {_SYMBOLS[match.group(0)]} "


def _words(text: str) -> Handler:
    """A handler that replaces the match with fixed words."""
    return lambda match, options: text


# --- Passes, in order -----------------------------------------------------------------------


def _with_capitals(words: Iterable[str]) -> set[str]:
    """`words` and their capitalised forms ("e.g." and "E.g.")."""
    return {form for w in words for form in (w, w[:1].upper() + w[1:])}


_MONTH_NAMES = _alternation(_MONTH_SPELLINGS)
# Well-formed numerals below 100 only, so "MIX", "CD" and "CV" are left alone; the lookbehinds
# forbid an empty numeral.
_ROMAN = r"(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})(?<=[LXVI])"  # I to XCIX
_MONARCHS = [
    "Elizabeth",
    "Henry",
    "Charles",
    "James",
    "William",
    "Edward",
    "George",
    "Richard",
    "Mary",
    "Louis",
    "Peter",
    "Catherine",
    "Alexander",
    "Nicholas",
    "Frederick",
    "Philip",
    "Francis",
    "Ferdinand",
    "Isabella",
    "Wilhelm",
    "Leopold",
    "Napoleon",
    "Victor",
    "Gustav",
    "Olaf",
    "Haakon",
    "Harald",
    "Christian",
    "Juan",
    "Carlos",
    "Felipe",
    "Pedro",
    "Manuel",
    "Ivan",
    "Otto",
]
_REGNAL_ROMAN = r"X{0,3}(?:IX|IV|V?I{0,3})(?<=[IVX]{2})"  # II to XXXIX
_RANGE_END = (
    rf"[{_CURRENCY_CHARS}]?[0-9][0-9,]*(?:[.:][0-9]+)?"
    rf"(?:%|{_ORDINAL_SUFFIX}|s\b|\s?[AaPp]\.?[Mm]\b"
    rf"|(?<=[0-9])(?:{_alternation(_SCALES)}|\s(?:{'|'.join(_SCALE_WORDS)})\b))?"
)
_ADDRESS_CHARS = (
    r"[^\s<>\"“”\u2018\u2019]*[^\s<>\"“”\u2018\u2019.,;:!?)\]}']"  # not ending in punctuation
)
_ADDRESS = (
    r"(?P<lead>\s?)(?P<open>[(<\[])?(?P<address>"
    r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"
    rf"|(?:https?://|ftp://|www\.)(?:{_ADDRESS_CHARS})?"
    rf"|(?<![\w.@-])[\w-]+(?:\.[\w-]+)*\.(?:{_alternation(_DOMAINS)})(?:/(?:{_ADDRESS_CHARS})?)?"
    r")(?P<close>(?(open)[)>\]]))?"
)
_YEAR = (
    rf"(?:\b(?P<cue>(?i:{_alternation(_QUANTITY_CUES)}))\s+)?"
    rf"(?<![0-9.,{_CURRENCY_CHARS}])(?<!(?<!\w)[-\u2212])"
    r"(?P<y>1[0-9]{3}|20[0-9]{2})(?![0-9]|[.,][0-9])"
)
_CODES = _alternation(_CURRENCY_CODES)
_AMOUNT = (
    rf"(?P<num>{_NUM})(?:\s(?P<scale_word>{'|'.join(_SCALE_WORDS)})\b"
    rf"|(?P<scale_abbr>{_alternation(_SCALES)}))?"
)
_MONEY = (
    rf"(?P<sign>(?<![\w.,)\]])[-\u2212])?(?:(?P<cur>[{_CURRENCY_CHARS}])|(?P<code>{_CODES})\s?)"
    rf"\s?{_AMOUNT}"
)
# An amount with its currency after it ("20€", "5 million USD"); groups named apart.
_MONEY_AFTER = (
    rf"(?P<sign2>(?<![\w.,)\]])[-\u2212])?{_AMOUNT.replace('?P<', '?P<x')}"
    rf"\s?(?P<cur2>[{_CURRENCY_CHARS}]|{_CODES})"
)
_AFTER_INCHES = re.compile(r"\s*(?:[,;:!?)]|\.(?:\s|\Z)|\Z|x\b|by\b|long|wide|tall|high|deep)")
_UNIT = (
    rf"(?P<num>{_SIGNED})(?:\s(?P<scale>{'|'.join(_SCALE_WORDS)}))?(?:\s?(?P<unit>{_alternation(_UNITS)})"
    rf"|\s(?P<spaced_unit>{_alternation(_SPACED_UNITS)}))(?![\w/²³])"
)

# Each pass is (pattern, handler, hint): a pass whose hint is not in the text cannot match, and
# is skipped (cheaply: a hint starts with a few known characters, which re scans for quickly).
_DIGIT = re.compile(r"[0-9]")
_AT = re.compile("@")
_HASH = re.compile("#")
_HYPHEN = re.compile(r"[0-9]-[0-9]")
_CODE_HINT = re.compile(r"[A-Z0-9]-[A-Z0-9]")
_LONE_I = re.compile(r" I\b")
_FILE_HINT = re.compile(rf"\.(?:{_alternation(_FILE_EXTENSIONS)})")
_IP_HINT = re.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]")
_PHONE_HINT = re.compile(r"[0-9][-. )][0-9]|\+[0-9]|[0-9]-[A-Z]|[0-9]{3}-[0-9]{4}|[lg] 9")
_CODE_NUMBER_HINT = re.compile(r"[0-9]\(")
_DURATION_HINT = re.compile(r":[0-5][0-9]:")
_DOT_TIME_HINT = re.compile(r"[0-9]\.[0-5][0-9]\s?[AaPp]\.?[Mm]")
_MONEY_HINT = re.compile(rf"[{_CURRENCY_CHARS}]|{_alternation(_CURRENCY_CODES)}")
_PHONE = (
    r"(?<![\w.,/:+-])(?:"
    r"\+[0-9]{1,3}(?:[ .-]\(?[0-9]{1,6}\)?){2,5}"  # +44 20 7946 0958
    r"|(?:1[-. ])?\(?[2-9][0-9]{2}\)?[-. ][0-9]{3}[-. ][0-9]{4}"  # (555) 123-4567
    r"|1[-. ][89][0-9]{2}[-. ](?:[0-9]{3}[-. ])?[A-Z]{2,}(?:-[A-Z]+)*"  # 1-800-FLOWERS
    r"|(?<![0-9]-)[2-9][0-9]{2}-[0-9]{4}"  # 555-1234
    r"|(?<=[Cc]all |[Dd]ial |[Rr]ing )(?:911|999|112)"  # emergency numbers
    r")(?![\w-])"
)
_PHONE_GROUPS = re.compile(r"[0-9]+|[A-Za-z]+")
_CODE_PIECES = re.compile(r"[0-9]+|[^\W\d_]+")
_SLASH = re.compile(r"/")
_ADDRESSES = re.compile(_ADDRESS)
_ADDRESS_HINT = re.compile(rf"@|//|www\.|\.(?:{_alternation(_DOMAINS)})")

_PASSES: tuple[tuple[str, Handler, re.Pattern[str] | None], ...] = (
    # Unicode fractions become "1/2" ("2½" -> "2 1/2", spaced by _apply) for later passes.
    (rf"[{''.join(_UNICODE_FRACTIONS)}]", _unicode_fraction, None),
    # Left out with the space before them, so no space is left before punctuation.
    (rf"\s*(?:{_EMOJI.pattern})", _leave_out, _EMOJI),
    (rf"\s*(?:{_UNREADABLE.pattern})", _leave_out, _UNREADABLE),
    (
        rf"[^\W\d_]*[{_FOREIGN_LETTERS}]+(?:['\u2019]?[^\W\d_])*",
        _foreign_word,
        re.compile(f"[{_FOREIGN_LETTERS}]"),
    ),
    # Footnote markers ("shown[1]", "word*"); superscripts go after the units pass.
    (r"(?<=\S)\[[0-9]{1,3}(?:[,\u2013-]\s?[0-9]{1,3})*\]", _drop, _DIGIT),
    (r"(?<=[^\s*])\*+(?=[\s.,;:!?)\]\"'”\u2019]|\Z)", _drop, None),
    (r"(?<![^\s(\[\"'“\u2018])\*+(?=[^\W\d_])", _drop, None),  # and "*emphasis*"
    (_NOISE.pattern, _noise, _NOISE),
    (_ADDRESS, _address, _ADDRESS_HINT),
    (
        rf"(?<![\w.@/-])(?P<stem>[A-Za-z0-9_][\w-]*)\.(?P<ext>{_alternation(_FILE_EXTENSIONS)})"
        r"(?![\w-]|\.\w)",
        _file_name,
        _FILE_HINT,
    ),
    (r"(?<![\w.@])@(?P<name>[A-Za-z0-9_]{1,30})\b", _handle, _AT),
    (r"(?<![\w&#])#(?P<tag>[0-9]*[^\W\d_]\w*)", _hashtag, _HASH),
    (r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])", _ip_address, _IP_HINT),
    (_PHONE, _phone, _PHONE_HINT),
    (
        r"(?<![\w.])(?P<n>[0-9]{1,4})(?P<tail>(?:\([A-Za-z0-9]{1,2}\))+)",
        _code_number,
        _CODE_NUMBER_HINT,
    ),
    (
        r"(?<![\w.-])(?=[A-Z0-9-]*[0-9]{3})[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+(?![\w-])",
        _code,
        _CODE_HINT,
    ),
    (r"\b[Ww]/[Oo]\b", _words("without"), _SLASH),
    (r"\b[Ww]/(?=\s)", _words("with"), _SLASH),
    # Abbreviations: titles before names, words before numbers, the rest.
    (rf"\b(?P<title>{_alternation(_BARE_TITLES)})\.?(?=\s+[A-Z])", _title, None),
    (rf"\b(?P<title>{_alternation(_TITLES)})\.(?=\s+[A-Z])", _title, None),
    (
        rf"(?<![\w.])(?P<word>{_alternation(_with_capitals(_BEFORE_NUMBER))})\s?(?=[0-9])",
        _before_number,
        _DIGIT,
    ),
    (rf"(?<![\w.])(?:{_alternation(_with_capitals(_ABBREVIATIONS))})", _abbreviation, None),
    # Dates: ISO, numeric, then with month names.
    (
        r"(?<![0-9-])(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=sep)"
        r"(?P<d>0?[1-9]|[12][0-9]|3[01])(?![0-9]|[-/.][0-9])",
        _iso_date,
        _DIGIT,
    ),
    (
        r"(?<![0-9/.,-])(?P<a>[0-9]{1,2})(?P<sep>[/.-])(?P<b>[0-9]{1,2})(?P=sep)"
        r"(?P<y>[0-9]{4}|[0-9]{2})(?![0-9]|[/.-][0-9])",
        _numeric_date,
        _DIGIT,
    ),
    (
        rf"\b(?P<month>{_MONTH_NAMES})\.?\s+(?P<d>[0-9]{{1,2}}){_ORDINAL_SUFFIX}?\b"
        r"(?![.,:][0-9])",
        _month_day,
        _DIGIT,
    ),
    (
        rf"(?<![0-9.,])(?P<d>[0-9]{{1,2}}){_ORDINAL_SUFFIX}?\s+(?P<of>of\s+)?"
        rf"(?P<month>{_MONTH_NAMES})\.?(?:\s+(?P<y>1[0-9]{{3}}|20[0-9]{{2}})(?![0-9]))?",
        _day_month,
        _DIGIT,
    ),
    # Ranges: "1914-1918" (also with an en dash), "5-10%", "$5-10", "9am-5pm".
    (
        rf"(?<![\w.,/:\u2013-])(?P<a>{_RANGE_END})(?P<sep>\s?\u2013\s?|\s-\s|-)"
        rf"(?P<b>{_RANGE_END})(?![0-9]|[-\u2013/.:][0-9])",
        _range,
        _DIGIT,
    ),
    # Numbers joined by hyphens that are no date, phone or range: a code ("ISBN").
    (r"(?<![\w.,/-])[0-9]+(?:-[0-9]+){2,}(?![\w-])", _code, _HYPHEN),
    (
        r"(?<![0-9:.])(?P<h>[0-9]{1,2}):(?P<min>[0-5][0-9]):(?P<s>[0-5][0-9])(?![0-9])"
        rf"(?!\s?{_AM_PM})",
        _duration,
        _DURATION_HINT,
    ),
    # Clock times, then hours with AM or PM.
    (
        r"(?<![0-9:.])(?P<h>[01]?[0-9]|2[0-4]):(?P<min>[0-5][0-9])(?::(?P<s>[0-5][0-9]))?"
        rf"(?![0-9])(?:\s?{_AM_PM})?",
        _clock,
        _DIGIT,
    ),
    (
        rf"(?<![0-9:.,])(?P<h>1[0-2]|0?[1-9])\.(?P<min>[0-5][0-9])\s?{_AM_PM}",
        _clock,
        _DOT_TIME_HINT,
    ),
    (rf"(?<![0-9:.,])(?P<h>1[0-2]|0?[1-9])\s?{_AM_PM}", _hour, _DIGIT),
    (
        rf"\s?/\s?(?P<per>{_alternation(_PER.keys() | _ALL_UNITS.keys())})(?![\w/²³])",
        _rate,
        _SLASH,
    ),
    (_MONEY, _money, _MONEY_HINT),
    (_MONEY_AFTER, _money, _MONEY_HINT),
    (r"(?<=[0-9])\s?[*\u00d7]\s?(?=[0-9])", _words(" times "), _DIGIT),
    (rf"(?P<num>{_SIGNED})\s?%", _percent, _DIGIT),
    (
        r"(?<![0-9.,])(?P<y>[0-9]{1,4})\s?(?P<e>BCE|BC|AD|CE|B\.C\.(?:E\.)?|A\.D\.|C\.E\.)(?!\w)"
        r"|\b(?P<e2>AD|CE|A\.D\.)\s?(?P<y2>[0-9]{1,4})(?![0-9]|[.,][0-9])",
        _era,
        _DIGIT,
    ),
    (
        r"(?:(?<!\w)['\u2019\u2018])?(?<![0-9.,])(?P<n>[0-9]+)['\u2019]?s\b",
        _plural_number,
        _DIGIT,
    ),
    (r"(?<!\w)['\u2019\u2018](?P<n>[0-9]{2})\b", _year_in_short, _DIGIT),  # "in '75"
    (rf"(?<![0-9.,])(?P<n>{_INT}){_ORDINAL_SUFFIX}\b", _ordinal_number, _DIGIT),
    (r"(?<![0-9.])[0-9]+(?:\.[0-9]+){2,}(?![0-9])", _version, _DIGIT),
    (
        r"(?<![0-9/.,])(?:(?P<whole>[0-9]+) )?(?P<n>[0-9]{1,2})[/\u2044](?P<d>[0-9]{1,3})"
        r"(?![0-9/]|\.[0-9])",
        _fraction,
        _DIGIT,
    ),
    (r"(?<=[0-9])[/\u2044](?=[0-9])", _words(" "), _DIGIT),  # "24/7", "9/11": two numbers
    (_UNIT, _unit, _DIGIT),
    (r"[⁰¹²³⁴-⁹]+", _drop, None),
    # Roman numerals: numbered things ("Chapter IV"), then monarchs ("Henry VIII").
    (
        rf"\b(?P<word>(?i:{_alternation(_NUMBERED_THINGS)}))\s+(?P<numeral>{_ROMAN})\b"
        r"(?![\u2019'])",
        _numbered_thing,
        None,
    ),
    # An old-style full stop after a regnal number goes ("Charles II., to").
    (
        rf"\b(?P<name>[A-Z][a-z]+)\s+(?P<numeral>{_REGNAL_ROMAN})\b(?:\.(?=[,;:]|\s+[a-z]))?",
        _regnal,
        None,
    ),
    # A monarch "the First": only a known regnal name, and only where "I" cannot be
    # the pronoun (before punctuation, "of", "'s" or the end: "Elizabeth I smiled" is).
    (
        rf"\b(?P<name>{_alternation(_MONARCHS)})\s+(?P<numeral>I)"
        r"(?=\s*[,;:)]|\.?\s*\Z|\s+of\b|['\u2019]s\b)",
        _regnal,
        _LONE_I,
    ),
    (_YEAR, _year_number, _DIGIT),
    (
        rf"(?:(?<![\w.,)\]])[-\u2212])?(?:(?<![0-9]){_INT}(?:\.[0-9]+)?|(?<![\w.,])\.[0-9]+)",
        _plain_number,
        _DIGIT,
    ),
    # Symbols left over.
    (r"[^\W\d_]{2,}(?:/[^\W\d_]{2,})+", _slashed_words, _SLASH),
    (r"(?<=[^\W\d_])\s+/\s+(?=[^\W\d_])", _words(", "), _SLASH),  # "this / that"
    (rf"[{re.escape(''.join(_SYMBOLS))}]", _symbol, None),
    (r"/", _words(" "), None),
)
_WHITESPACE = re.compile(r"\s+")


def _apply(pattern: re.Pattern[str], handler: Handler, text: str, options: NormalizeOptions) -> str:
    """One pass. Words replacing text glued to letters get a space ("mp3" -> "mp three")."""

    def replace(match: re.Match[str]) -> str:
        words = handler(match, options)
        start, end = match.start(), match.end()
        if words[:1].isalnum() and start and text[start - 1].isalnum():
            words = " " + words
        if words[-1:].isalnum() and end < len(text) and text[end].isalnum():
            words += " "
        return words

    return pattern.sub(replace, text)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """A pass's pattern, compiled the first time a text needs it: compiling all of them
    takes about 45 ms, most of what reading a sentence costs a process, and a pass whose
    hint does not match (most need a digit) is never compiled."""
    return re.compile(pattern)


def left_out(text: str) -> list[tuple[str, str]]:
    """The words `normalize` leaves out of `text` rather than say badly, each with why:
    words in a script it has no reading for (Chinese, Japanese, Korean, Arabic, Hebrew,
    Indic, Thai), and "words" too long to be words that are no address."""
    found = [(m.group(0).strip(), "no reading for its script") for m in _UNREADABLE.finditer(text)]
    for match in _NOISE.finditer(text):
        if not _ADDRESSES.search(match.group(0)):
            found.append((match.group(0), f"a {len(match.group(0))}-character word"))
    return found


def normalize(text: str, options: NormalizeOptions = NormalizeOptions()) -> str:
    """`text` (one sentence or clause of plain text) as a narrator would say it."""
    for pattern, handler, hint in _PASSES:
        if hint is None or hint.search(text):
            text = _apply(_compiled(pattern), handler, text, options)
    return _WHITESPACE.sub(" ", text).strip()
