"""The numbers of a sentence, read the way translators write them, for the pair-consistency `number_mismatch` rule.

Numbers are compared by value, not by spelling: decimal and thousands separators (`3.5`/`3,5`,
`14,000`/`14 000`/`14.000`/`14000`), times (`9:30` = `9.30` = `9h30` = `0930`) and 12-hour times (`5 pm` =
`17:00`, `9.30 pm` = `21h30`, and a range `10:00 to 11:30pm` = `22:00 ... 23:30`) are normalised, digits of any
script count (`২০০৮` = `2008`), and a number matches when its digits agree once leading and trailing zeros are
dropped (`1.2 million` / `120 万`, `2.8` / `280`: CJK magnitude words and unit multiples) or when one of its digit
groups appears on the other side (`9:30` / `9.30`). Roman numerals (`XVIIIe siècle` for the `18th century`) and
English number words (`seventy kilometres` for `70 km`) count as the numbers they spell. What translators change
on purpose is not required to match:

- a measure in imperial or US units (`4.9 mi`, `68 square inches`, `90 °F`, `17 pounds`, `40 mph`): when either side
  has one, no number carrying a unit of measure has to match (`14,1 km`, `172 cm²`, `32 °C`, `7,7 kg`);
- a number that opens one side and not the other (transcript line numbers, list numbering: `12 And then` / `Et`);
- a year in the Buddhist Era on a Thai side (`In 2010` / `ในปีพ.ศ. 2553`);
- a CJK month (`10 月`, `3월`: English spells months); a pair with CJK myriads (`3억 4천만`, `120 万`) is not compared
  (its numbers are split where English's are not);
- small numbers (< `min_number`, 10: `three seasons` / `3 temporadas`) and numbers on one side only (written as
  words).
"""

from __future__ import annotations

import unicodedata

import regex

#: a 12-hour time: `5 pm`, `5 p.m.`, `9.30pm`, `10:30 AM`, and the start of a range that ends in one
#: (`10:00 to 11:30pm`, `10-11.30 pm`)
_TIME12 = regex.compile(r"(?<![\d.,:])(\d{1,2})(?:[:.](\d{2}))?\s?(?:(?:to|till|until|-|–)\s?(\d{1,2})(?:[:.](\d{2}))?"
                        r"\s?)?([ap])\.?\s?m\b\.?", regex.IGNORECASE)
#: a time with `h` between hours and minutes (`10 h 17`, `18h30`): hours and minutes, as `10:17`
_TIME_H = regex.compile(r"(?<!\d)(\d{1,2})\s?h\s?(\d{2})(?!\d)")
#: one number: digit groups joined by decimal / thousands / time separators, or space-separated thousands (`14 000`)
_NUMBER = regex.compile(r"(?<!\d)(?:\d{1,3}(?:\p{Zs}\d{3})+(?!\d)|\d+(?:[.,:'\u2019]\d+)*)"
                        r"(?P<month>\s?[月월])?(?P<decade>(?<=\d0)s\b)?")
#: a CJK magnitude after a number (`120 万`, `3억 4천만`, `5千4百万`)
_CJK_MAGNITUDE = regex.compile(r"\d\s?[十百千万萬亿億兆십백천만억조]")
_DIGITS = regex.compile(r"\d+")
_ANY_DIGIT = regex.compile(r"\d")
#: units a translator converts: when a side has one of these after a number, measures need not match
_IMPERIAL = regex.compile(
    r"(?i)\d\s?(?:-\s?)?(?:\(?°?\s?F\b\)?|(?:sq\.?|square|cubic)\s|mi\b|miles?\b|mph\b|ft\b|feet\b|foot\b|in\b\.?(?=\s*[),;])"
    r"|inch(?:es)?\b|yards?\b|yd\b|lbs?\b|pounds?\b|oz\b|ounces?\b|gallons?\b|gal\b|acres?\b|°\s?F|degrees?\s?F|"
    r"fahrenheit)")
#: a number with a unit of measure after it, metric or not (what the measure exemption skips)
_MEASURE = regex.compile(
    r"(?i)(?<!\d)(\d+(?:[.,\s]\d+)*)\s?(?:-\s?)?(?:\(?°\s?[CF]?\)?|\([CF]\)|(?:sq\.?|square|cubic)\s\w+|[kcm]?m[²³23]?\b|km/h|kph|"
    r"mi\b|miles?|mph|ft|feet|foot|in\b|inch(?:es)?|yards?|yd|lbs?|pounds?|oz|ounces?|gallons?|gal|acres?|k?g\b|"
    r"kilo\w*|gram\w*|met\w*|mèt\w*|cent\w*|milli\w*|li?t\w*|hect\w*|ha\b|degr\w*|grad\w*|fok\w*|stup\w*|[CF]\b)")
_ROMAN = regex.compile(r"\b([IVXLC]{2,}|[IVX](?=e\b|ème|er\b|\.|\s(?:century|siècle|siglo|Jahrhundert|század|stol)))"
                       r"(?=e\b|ème|er\b|\.|\b)")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORD = regex.compile(rf"(?i)\b({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?\b"
                             rf"|\b({'|'.join(_UNITS)})\b")
#: a number at the very start of a side: a line or list number, which translations keep or drop
_LEADING = regex.compile(r"^\W*(\d+)")
#: Thai text counts years in the Buddhist Era, 543 years ahead of the Common Era (`2010` is `พ.ศ. 2553`)
_THAI = regex.compile(r"\p{Script=Thai}")
_BUDDHIST_ERA = 543


def _to_24h(match: regex.Match) -> str:
    meridiem = 12 if match.group(5).lower() == "p" else 0
    end = f"{int(match.group(3)) % 12 + meridiem}:{match.group(4) or '00'}" if match.group(3) else None
    start = f"{int(match.group(1)) % 12 + meridiem}:{match.group(2) or '00'}"
    return f" {start} - {end} " if end else f" {start} "


def _ascii_digits(digits: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in digits)


def _roman(numeral: str) -> int:
    values = [_ROMAN_VALUES[ch] for ch in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def spelled_keys(text: str) -> frozenset[str]:
    """Keys of the numbers a side spells: Roman numerals before an ordinal mark or a century word, English
    number words (`seventy`, `twenty-five`, `fifteen`)."""
    found = [_roman(m.group(1)) for m in _ROMAN.finditer(text)]
    for match in _NUMBER_WORD.finditer(text):
        tens, unit, alone = match.groups()
        found.append(_TENS[tens.lower()] + (_UNITS.index(unit.lower()) if unit else 0) if tens
                     else _UNITS.index(alone.lower()))
    return frozenset(key for key in (str(value).strip("0") for value in found) if key)


def numbers(text: str) -> list[tuple[int, frozenset[str]]]:
    """The numbers of a side: (value read with separators removed, the keys it can match under).

    The keys are the number's digits, and each of its digit groups, with leading and trailing zeros stripped
    (`14,000` -> {14}, `9.30` -> {93, 9, 3}, `0230` -> {23}), and the decade of `1970s` (`7`, as in `70. let`);
    a number of zeros has no key and is skipped, as is a CJK month (`10 月`, `3월`: English spells months)."""
    if not any(map(str.isdigit, text)):
        return []
    if "m" in text or "M" in text:
        text = _TIME12.sub(_to_24h, text)
    if "h" in text:
        text = _TIME_H.sub(r"\1:\2", text)
    found = []
    for match in _NUMBER.finditer(text):
        if match.group("month"):
            continue
        groups = [_ascii_digits(group) for group in _DIGITS.findall(match.group())]
        decade = [groups[-1][-2:]] if match.group("decade") else []
        keys = frozenset(key for key in (g.strip("0") for g in (*groups, "".join(groups), *decade)) if key)
        if keys:
            found.append((int("".join(groups)), keys))
    return found


def _exempt(text: str, other: str, measures: bool) -> set[int]:
    """Values on this side that need not match: measures (when the pair has imperial units), and the number
    that opens this side when the other side does not open with one."""
    exempt = set()
    if measures:
        for match in _MEASURE.finditer(text):
            exempt.update(value for value, _ in numbers(match.group(1)))
    leading = _LEADING.match(text)
    if leading and not _LEADING.match(other):
        exempt.update(value for value, _ in numbers(leading.group(1)))
    return exempt


def _era_keys(found: list) -> frozenset[str]:
    """Keys of years converted between the Buddhist and the Common Era (for pairs with a Thai side)."""
    years = [value for value, _ in found if 1000 <= value <= 3000]
    return frozenset(str(year + shift).strip("0") for year in years for shift in (-_BUDDHIST_ERA, _BUDDHIST_ERA))


def _unmatched(found: list, other_keys: frozenset[str], min_number: int) -> list[tuple[int, frozenset[str]]]:
    return [(value, keys) for value, keys in found if value >= min_number and not keys & other_keys]


def unmatched_number(source: str, target: str, min_number: int) -> str | None:
    """The first number of at least `min_number` on one side that the other side lacks (both sides having
    numbers), as `detail`; None when the numbers agree. The exemptions (spelled numbers, measures, numbering)
    are only worked out for a pair whose digits disagree."""
    if not (_ANY_DIGIT.search(source) and _ANY_DIGIT.search(target)):
        return None  # a side without a decimal digit has no number (`numbers` reads only `\d` runs)
    if _CJK_MAGNITUDE.search(source) or _CJK_MAGNITUDE.search(target):
        return None
    src_numbers, tgt_numbers = numbers(source), numbers(target)
    if not src_numbers or not tgt_numbers:
        return None
    src_keys = frozenset().union(*(keys for _, keys in src_numbers))
    tgt_keys = frozenset().union(*(keys for _, keys in tgt_numbers))
    sides = (("source", src_numbers, tgt_keys, source, target), ("target", tgt_numbers, src_keys, target, source))
    if not any(_unmatched(found, other, min_number) for _, found, other, _, _ in sides):
        return None
    measures = bool(_IMPERIAL.search(source) or _IMPERIAL.search(target))
    eras = _era_keys(src_numbers + tgt_numbers) if _THAI.search(source) or _THAI.search(target) else frozenset()
    for side, found, other, text, other_text in sides:
        missing = _unmatched(found, other | spelled_keys(other_text) | eras, min_number)
        if missing:
            exempt = _exempt(text, other_text, measures)
            for value, _ in missing:
                if value not in exempt:
                    return f"{side} number {value} not in the other side"
    return None
