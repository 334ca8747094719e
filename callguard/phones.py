"""Phone numbers: normalisation to E.164 (default region GB) and masking for logs."""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    national_significant_number,
)

DEFAULT_REGION = "GB"

# Ofcom's ranges for drama and testing (07700 900xxx, 01632 960xxx): not "valid" to
# libphonenumber, but used in examples, demos and tests, so accepted as UK numbers.
_OFCOM_DRAMA_PREFIXES = ("+447700900", "+441632960")


class InvalidPhone(ValueError):
    pass


# libphonenumber's validity check costs ~0.5 ms; callers and imports repeat numbers, and
# the result is a pure function of the text, so results are kept (bounded).
_CACHE_SIZE = 100_000
_normalised: dict[tuple[str, str], str] = {}


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` in E.164, or raise InvalidPhone.

    Accepts the common UK forms: ``07700 900123``, ``+44 7700 900123``, ``0044 …``, ``44…``.
    """
    known = _normalised.get((raw, region))
    if known is not None:
        return known
    e164 = _normalise(raw, region)
    if len(_normalised) >= _CACHE_SIZE:
        _normalised.clear()
    _normalised[(raw, region)] = e164
    _normalised[(e164, region)] = e164  # an E.164 number normalises to itself
    return e164


# A UK number already in E.164, as Twilio sends a UK caller: "+44", then 9 or 10 digits not
# starting with 0 (nor with 180020, a prefix libphonenumber may strip as a national one).
# libphonenumber's parse of such text is the split "44" / the rest, and its E.164 form the
# text itself, so only the validity check is left to it (the same check on the same
# number): parsing is 40% of the cost of a number not seen before.
_UK_E164 = re.compile(r"\+44(?!180020)[1-9][0-9]{8,9}")


def _normalise(raw: str, region: str) -> str:
    if _UK_E164.fullmatch(raw):
        number = phonenumbers.PhoneNumber(country_code=44, national_number=int(raw[3:]))
        return _valid(raw, number)
    text = raw.strip()
    if not text:
        raise InvalidPhone("empty phone number")
    if len(text) > 32:
        raise InvalidPhone("phone number too long")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("00"):
        text = "+" + digits[2:]
    elif not text.startswith("+") and digits.startswith("44") and len(digits) >= 12:
        # "447700900123": an international number written without its plus sign.
        text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    return _valid(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), parsed)


def _valid(e164: str, parsed: phonenumbers.PhoneNumber) -> str:
    drama = e164.startswith(_OFCOM_DRAMA_PREFIXES) and len(e164) == 13
    if not (drama or is_valid_number(parsed)):
        raise InvalidPhone("not a valid phone number")
    return e164


def is_valid_number(number: phonenumbers.PhoneNumber) -> bool:
    """``phonenumbers.is_valid_number``, by libphonenumber's own steps less one repeat.

    For a calling code several regions share (+44: GB, GG, IM, JE) libphonenumber first
    finds the number's region, trying each in turn: one with leading digits by those, any
    other by matching the number's type against its patterns; then it matches the type
    again, for the region found, to say whether the number is valid. A region found by its
    type has already given that answer, so it is not asked twice: a third to a half of the
    check's cost for a UK number not seen before (most callers), the same answer for every
    number (``tests/unit/test_phones.py`` holds it to ``phonenumbers.is_valid_number``).
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(number.country_code or 0)
    if regions is None or len(regions) == 1:
        return bool(phonenumbers.is_valid_number(number))
    national = national_significant_number(number)
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re.match(metadata.leading_digits, national):
                return _has_a_type(national, metadata)
        elif _has_a_type(national, metadata):
            return True
    return False


# The type descriptions libphonenumber tries, in its order (``_number_type_helper``).
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _has_a_type(national: str, metadata: phonenumbers.PhoneMetadata) -> bool:
    """Whether libphonenumber gives the number a type in this region
    (``_number_type_helper`` is not UNKNOWN): it matches the region's general description
    and any type's, each where its possible lengths allow. One match against all the types
    at once, rather than one a type, each pattern looked up in ``re``'s cache: 0.7 µs
    against 7.3 for a UK mobile number, and a new number normalised in 5.8 µs against
    15.5 (docs/performance.md, thirteenth pass)."""
    patterns = _type_patterns(metadata.id, len(national))
    if patterns is None:
        return False
    general, any_type = patterns
    return general.fullmatch(national) is not None and any_type.fullmatch(national) is not None


@functools.cache
def _type_patterns(region: str, length: int) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """For a national number of ``length`` in ``region``: its general pattern, and one
    pattern matching where any of its types' patterns does (None: none can)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None  # the region of metadata already loaded (``_has_a_type``)
    general = _pattern_for(metadata.general_desc, length)
    descs = [getattr(metadata, name) for name in _TYPES]
    if metadata.same_mobile_and_fixed_line_pattern:
        descs.pop()  # libphonenumber does not try mobile apart from fixed line then
    types = [p for p in (_pattern_for(desc, length) for desc in descs) if p is not None]
    if general is None or not types:
        return None
    return re.compile(general), re.compile("|".join(f"(?:{p})" for p in types))


def _pattern_for(desc: phonenumbers.PhoneNumberDesc | None, length: int) -> str | None:
    """The description's pattern, if a number of this length can match it
    (``_is_number_matching_desc``)."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return str(desc.national_number_pattern)


def load_metadata(region: str = DEFAULT_REGION) -> None:
    """Load libphonenumber's metadata for ``region``'s country code now (it loads it on
    first use: for +44 that is GB, GG, IM and JE, a pause in the first call's answer)."""
    code = phonenumbers.country_code_for_region(region)
    for each in phonenumbers.region_codes_for_country_code(code):
        phonenumbers.PhoneMetadata.metadata_for_region(each)


def try_normalise(raw: str | None) -> str | None:
    """E.164 for a number that parses; None for withheld, empty or unparseable callers."""
    if raw is None:
        return None
    try:
        return normalise_phone(raw)
    except InvalidPhone:
        return None


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def caller_number(raw: str | None) -> str | None:
    """The number an inbound call is screened under: ``try_normalise``'s, else the caller's
    as Twilio sent it when that is in E.164 form (a number from a range the numbering plan
    as libphonenumber has it no longer takes may be stored under it: it was valid when it
    was registered); None for withheld, empty or unparseable callers."""
    phone = try_normalise(raw)
    if phone is None and raw is not None and _E164.fullmatch(raw):
        return raw
    return phone


def normalise_route(raw: str) -> str:
    """A call route: an E.164 number, a ``sip:`` URI or a ``client:`` identity."""
    text = raw.strip()
    if text.startswith(("sip:", "client:")):
        if len(text.split(":", 1)[1]) == 0:
            raise InvalidPhone("route URI has nothing after the scheme")
        return text
    return normalise_phone(text)


def phone_as_written(number: str | None) -> str:
    """A stored number as people write it: a UK one as ``07700 900101``, another country's
    as ``+33 1 23 45 67 89``; a route that is not a number, or one that cannot be read, as
    it is stored."""
    if not number:
        return ""
    if not re.fullmatch(r"\+\d{7,15}", number) or try_normalise(number) != number:
        return number  # a route, a masked number, or one taken as the caller sent it
    parsed = phonenumbers.parse(number, None)
    kind = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 44
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, kind)


def mask_phone(number: str | None) -> str:
    """Keep only what a log reader needs: ``+44*******123``."""
    if not number:
        return "-"
    if number.startswith(("sip:", "client:")):
        scheme, _, rest = number.partition(":")
        return f"{scheme}:{rest[:2]}***"
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 6) + number[-3:]
