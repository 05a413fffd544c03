"""Text normalization: written forms become the words a narrator says (narrator.text.normalize)."""

from __future__ import annotations

import random
import re
import time

import pytest

from narrator.text.normalize import NormalizeOptions, normalize

DMY = NormalizeOptions(date_order="dmy")
NO_URLS = NormalizeOptions(read_urls=False)

CASES = [
    # Years: num2words' year reading for 1000-2099; a comma makes a quantity.
    ("It was 1995.", "It was nineteen ninety-five."),
    ("in 1900", "in nineteen hundred"),
    ("By 2001 it was over.", "By two thousand and one it was over."),
    ("in 2024", "in twenty twenty-four"),
    ("in 1066", "in ten sixty-six"),
    ("in 1905", "in nineteen oh-five"),
    ("1,995 people", "one thousand, nine hundred and ninety-five people"),
    ("page 1234", "page one thousand, two hundred and thirty-four"),
    ("44 BC and AD 1066", "forty-four BC and AD ten sixty-six"),
    ("the Revolution of '75.", "the Revolution of seventy-five."),
    ("Smith (b. 1948)", "Smith (born nineteen forty-eight)"),
    # Decades: "the" only where the text has it.
    ("the 1990s", "the nineteen nineties"),
    ("in 1990s", "in nineteen nineties"),
    ("the '90s and the \u201990s", "the nineties and the nineties"),
    ("the 1800s", "the eighteen hundreds"),
    ("in her 20s", "in her twenties"),
    ("100s of people", "hundreds of people"),
    # Ordinals and centuries.
    ("the 21st century", "the twenty-first century"),
    ("for the 3rd time", "for the third time"),
    ("the 101st Airborne", "the one hundred and first Airborne"),
    ("the 19th-20th centuries", "the nineteenth to twentieth centuries"),
    # Dates.
    ("the 3rd of May", "the third of May"),
    ("on May 3rd", "on May third"),
    ("May 3, 2024", "May third, twenty twenty-four"),
    ("On 2024-03-14 we met.", "On March fourteenth, twenty twenty-four we met."),
    ("3/4/2021", "March fourth, twenty twenty-one"),
    ("due 14/3/2021", "due March fourteenth, twenty twenty-one"),  # only day-first fits
    ("on 3 May 2024", "on the third of May, twenty twenty-four"),
    ("Sept. 5", "September fifth"),
    ("3/4/05", "March fourth, oh-five"),
    # Money.
    ("$5.50", "five dollars and fifty cents"),
    ("$1", "one dollar"),
    ("$0.99", "ninety-nine cents"),
    ("\u00a33", "three pounds"),
    ("\u00a31.01", "one pound and one penny"),
    ("\u20ac2m", "two million euros"),
    ("$3.5 billion", "three point five billion dollars"),
    ("\u00a5100", "one hundred yen"),
    ("$1,000,000", "one million dollars"),
    ("-$5", "minus five dollars"),
    # Percentages.
    ("50%", "fifty percent"),
    ("3.5%", "three point five percent"),
    ("a 10% rise", "a ten percent rise"),
    ("-2%", "minus two percent"),
    # Decimals and plain numbers.
    ("3.14", "three point one four"),
    ("1,234", "one thousand, two hundred and thirty-four"),
    ("-5", "minus five"),
    ("0.5", "zero point five"),
    ("3.50", "three point five zero"),
    ("42 apples", "forty-two apples"),
    ("v1.2.3", "v one point two point three"),
    ("mp3 and A4", "mp three and A four"),
    ("COVID-19 and a 10-year-old", "COVID-nineteen and a ten-year-old"),
    # Clock times: espeak-ng says "AM" and "PM" as letters ("a m" would be "uh em").
    ("10:30 pm", "ten thirty PM"),
    ("It ends at 10:30 p.m.", "It ends at ten thirty PM."),
    ("7:05", "seven oh five"),
    ("12:00", "twelve o'clock"),
    ("9am", "nine AM"),
    ("at 9 a.m. sharp", "at nine AM sharp"),
    ("14:00", "fourteen hundred"),
    # Ranges.
    ("1914\u20131918", "nineteen fourteen to nineteen eighteen"),
    ("1914-1918", "nineteen fourteen to nineteen eighteen"),
    ("pages 10-20", "pages ten to twenty"),
    ("5\u201310%", "five to ten percent"),
    ("$5-10", "five to ten dollars"),
    ("$3-5 million", "three to five million dollars"),
    ("9am\u20135pm", "nine AM to five PM"),
    ("in 1995\u201396", "in nineteen ninety-five to ninety-six"),
    ("between 1914\u20131918", "between nineteen fourteen and nineteen eighteen"),
    # Abbreviations.
    ("Dr. Smith", "Doctor Smith"),
    ("Dr Smith", "Doctor Smith"),
    ("Mr. and Mrs. Smith", "Mister and Missus Smith"),
    ("Ms. Jones", "Miz Jones"),
    ("St. Paul's", "Saint Paul's"),
    ("on Baker St. today", "on Baker Street today"),
    ("e.g. apples", "for example apples"),
    ("E.g. apples", "For example apples"),
    ("i.e. pears", "that is pears"),
    ("and so on, etc.", "and so on, et cetera."),
    ("etc. and more", "et cetera and more"),
    ("pets, etc. Then we left.", "pets, et cetera. Then we left."),
    ('"mirror," &c., may', '"mirror," et cetera, may'),
    ("cats vs. dogs", "cats versus dogs"),
    ("No. 5", "Number five"),
    ("Prof. Xavier", "Professor Xavier"),
    ("Martin Luther King Jr.", "Martin Luther King Junior."),
    ("approx. 5 km", "approximately five kilometers"),
    ("Gen Z, not Gen. Patton", "Gen Z, not General Patton"),
    # Roman numerals.
    ("Henry VIII", "Henry the Eighth"),
    ("Elizabeth II", "Elizabeth the Second"),
    ("Louis XIV's reign", "Louis the Fourteenth's reign"),
    ("Charles II., to intimidate", "Charles the Second, to intimidate"),
    ("World War II", "World War Two"),
    ("World War I ended", "World War One ended"),
    ("Chapter IV", "Chapter Four"),
    ("Part III", "Part Three"),
    ("Book XII", "Book Twelve"),
    ("CHAPTER VIII - PROSPECTS", "CHAPTER Eight - PROSPECTS"),
    ("Act I, Scene II", "Act One, Scene Two"),
    ("Type II diabetes", "Type Two diabetes"),
    # Units.
    ("5 km", "five kilometers"),
    ("10 kg", "ten kilograms"),
    ("1 kg", "one kilogram"),
    ("3 cm and 2 mm", "three centimeters and two millimeters"),
    ("100 m", "one hundred meters"),
    ("5 mph", "five miles per hour"),
    ("60 km/h", "sixty kilometers per hour"),
    ("5 ft", "five feet"),
    ("3 in. of rain", "three inches of rain"),
    ("2 lb and 3 lbs", "two pounds and three pounds"),
    ("20\u00b0C", "twenty degrees Celsius"),
    ("70 \u00b0F", "seventy degrees Fahrenheit"),
    ("90\u00b0", "ninety degrees"),
    ("-5\u00b0C", "minus five degrees Celsius"),
    ("5 GB and 3 MB", "five gigabytes and three megabytes"),
    ("2 h 30 min 45 s", "two hours thirty minutes forty-five seconds"),
    ("2.5x faster", "two point five times faster"),
    # Fractions (two slashes make a date; other denominators make two numbers).
    ("1/2", "one half"),
    ("3/4", "three quarters"),
    ("2/3", "two thirds"),
    ("1/3", "one third"),
    ("5/8", "five eighths"),
    ("\u00bd cup", "one half cup"),
    ("2\u00bd cups", "two and a half cups"),
    ("\u00bc and \u00be", "one quarter and three quarters"),
    ("1 3/4 hours", "one and three quarters hours"),
    ("24/7", "twenty-four seven"),
    # URLs and e-mail addresses.
    ("https://www.example.com/path", "example dot com slash path"),
    ("jane.doe@example.org", "jane dot doe at example dot org"),
    ("Visit example.com.", "Visit example dot com."),
    ("see http://x.org/a-b/ now", "see x dot org slash a dash b now"),
    # Footnote markers.
    ("as shown[1]", "as shown"),
    ("text[12].", "text."),
    ("a claim\u00b9 and another\u00b2\u00b3.", "a claim and another."),
    ("a footnote* here", "a footnote here"),
    ("cited[3, 4] here", "cited here"),
    ("*Really* and **truly**, 2*3", "Really and truly, two times three"),
    # Symbols.
    ("R&D and Tom & Jerry", "R and D and Tom and Jerry"),
    ("1 + 1 = 2", "one plus one equals two"),
    ("#1", "number one"),
    ("meet @ noon", "meet at noon"),
    ("~5", "about five"),
    ("3 \u00d7 4", "three times four"),
    ("and/or", "and or"),
    ("his/her", "his or her"),
    ("call (555) 123-4567", "call five five five, one two three, four five six seven"),
    # Ordinary prose is left alone, apart from whitespace.
    ("I think, as I said, that I am right.", "I think, as I said, that I am right."),
    ("the Civil War", "the Civil War"),
    ("MIX and mix and civil and I", "MIX and mix and civil and I"),
    ("the part I liked", "the part I liked"),
    ("Henry I", "Henry the First"),  # a known regnal name before the end: the king
    ("Henry I think", "Henry I think"),
    ("Section C and the CD", "Section C and the CD"),
    ("\u201cQuoted,\u201d she said \u2014 it\u2019s fine\u2026", None),
    ("She paused -- then left...", None),
    (
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440. \u4f60\u597d\u3002 \U0001f600",
        "Privet, mir.",  # Cyrillic transliterated, Chinese left out, emoji not spoken
    ),
    ("\u0663 apples", None),  # digits of other scripts are left to their script
    ("  spread \n over\tlines  ", "spread over lines"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "spoken"), CASES)
def test_normalize(text: str, spoken: str | None) -> None:
    """`spoken` None: the text must come back unchanged."""
    assert normalize(text) == (text if spoken is None else spoken)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("3/4/2021", "the third of April, twenty twenty-one"),
        ("On 2024-03-14 we met.", "On the fourteenth of March, twenty twenty-four we met."),
        ("due 12/25/2024", "due the twenty-fifth of December, twenty twenty-four"),
        ("on the 3/4/2021", "on the third of April, twenty twenty-one"),
        ("May 3, 2024", "May third, twenty twenty-four"),  # written month first, read so
    ],
)
def test_day_first_dates(text: str, spoken: str) -> None:
    assert normalize(text, DMY) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("See https://www.example.com/path for more.", "See for more."),
        ("Mail jane.doe@example.org.", "Mail."),
        ("see (https://x.org/a) now", "see now"),
        ("www.example.com", ""),
    ],
)
def test_addresses_can_be_dropped(text: str, spoken: str) -> None:
    assert normalize(text, NO_URLS) == spoken


def test_unknown_date_order_is_refused() -> None:
    with pytest.raises(ValueError, match="date_order"):
        NormalizeOptions(date_order="ymd")


ACCEPTANCE_PARAGRAPH = (
    "In 1995, Dr. Smith (b. 1948) of 221 Baker St. paid $5.50, i.e. 50% more than the "
    "1990s average of $3.5 billion\u2014approx. 3.14 times the \u00a3100 paid on 3/4/2021 "
    "and May 3rd, 2024 at 10:30 p.m.; see pp. 10-20, Chapter IV, Henry VIII, World War II "
    "and the 21st century. It weighed 5 kg, ran at 60 km/h in 20\u00b0C heat, took 1/2 "
    "and \u00be of the 5 GB, cost \u20ac2m or \u00a53,000, rose 5\u201310% between "
    "1914\u20131918, etc. Write to jane.doe@example.org or https://www.example.com/path "
    "as shown[1], noted\u00b2 and starred*, R&D #1 @ ~5 \u00d7 3 + 2 = 17, \u00bd and "
    "\u00bc, and/or -7 at 9am in the '90s on 2024-03-14 and 12:00."
)
SPELLED_OUT = re.compile("[0-9$\u00a3\u20ac%&@#\u00b0/\u00bd\u00bc\u00be\u00b9\u00b2\u00b3]")


@pytest.mark.parametrize("options", [NormalizeOptions(), DMY, NO_URLS])
def test_nothing_is_left_for_the_engine_to_spell_out(options: NormalizeOptions) -> None:
    spoken = normalize(ACCEPTANCE_PARAGRAPH, options)
    assert not SPELLED_OUT.findall(spoken), spoken
    assert "  " not in spoken and spoken == spoken.strip()


GARBAGE_ALPHABET = (
    "0123456789 ,.-\u2013\u2014/:;%$\u00a3\u20ac\u00a5\u00b0CFkmgsAMPampDrSt()[]*"
    "\u00b9\u00b2\u00b3\u00bd\u00be#@&+=\u00d7~'\u2019\"\u201cIVXLi\n\t\u00a0w.@\u00e9\u4e2d"
    "\U0001f600\u0663"
)


def test_garbage_does_not_raise() -> None:
    rng = random.Random(20240314)
    nasty = ["", " ", "$", "%", "1" * 40, "1-" * 500, "$." * 20, "Henry VV", "Part VV", "\x00"]
    garbage = nasty + [
        "".join(rng.choice(GARBAGE_ALPHABET) for _ in range(rng.randint(0, 60)))
        for _ in range(3000)
    ]
    for text in garbage:
        for options in (NormalizeOptions(), NormalizeOptions("dmy", read_urls=False)):
            assert isinstance(normalize(text, options), str), text


def test_an_essay_is_quick() -> None:
    """About 800 sentences, as in a 15,000-word essay, in well under a second. One sentence in
    four is dense with numbers, far more than in a real essay."""
    prose = (
        "It is not the walk that matters, I think, but the attention we bring to it, and the "
        "willingness to let the path decide where we are going."
    )
    sentences = [
        prose
        if i % 4
        else f"In {1900 + i % 120}, Dr. Smith paid ${i}.{i % 100:02d} for {i % 90 + 2}% of the "
        f"{i}th lot, i.e. about {i * 37:,} people, on {i % 12 + 1}/{i % 28 + 1}/2021 at "
        f"{i % 12 + 1}:{i % 60:02d} pm \u2014 as Henry VIII said in Chapter IV, etc."
        for i in range(800)
    ]
    start = time.perf_counter()
    for sentence in sentences:
        normalize(sentence)
    assert time.perf_counter() - start < 1.0
