"""Phone numbers: E.164 normalisation (UK forms, the Ofcom drama ranges) and masking."""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers
import pytest
from phonenumbers import phonenumberutil
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from callguard import phones
from callguard.phones import (
    InvalidPhone,
    mask_phone,
    normalise_phone,
    normalise_route,
    phone_as_written,
    try_normalise,
)

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    "form",
    [
        "07700 900123",
        "+44 7700 900123",
        "0044 7700 900123",
        "447700900123",
        "+447700900123",
        " (07700) 900-123 ",
    ],
)
def test_every_common_uk_form_becomes_e164(form: str) -> None:
    assert normalise_phone(form) == "+447700900123"
    assert normalise_phone(form) == "+447700900123"  # and again, from the cache


@pytest.mark.parametrize("bad", ["", "12345", "anonymous", "+266696687", "0161 496 000", "9" * 40])
def test_invalid_numbers_are_refused_every_time(bad: str) -> None:
    for _ in range(2):
        with pytest.raises(InvalidPhone):
            normalise_phone(bad)
    assert try_normalise(bad) is None


def test_routes_may_be_sip_or_client() -> None:
    assert normalise_route("sip:desk@pbx.example.org") == "sip:desk@pbx.example.org"
    assert normalise_route("client:duty-officer") == "client:duty-officer"
    assert normalise_route("01772 000001") == "+441772000001"
    with pytest.raises(InvalidPhone):
        normalise_route("sip:")


def test_masking_keeps_only_what_a_log_reader_needs() -> None:
    assert mask_phone("+447700900123") == "+44*******123"
    assert mask_phone(None) == "-"
    assert mask_phone("sip:desk@pbx") == "sip:de***"
    assert "900" not in mask_phone("+447700900123")[3:-3]


def test_a_uk_number_already_in_e164_is_judged_as_libphonenumber_judges_it() -> None:
    """ "+44" and 9 or 10 digits skips libphonenumber's parse, not its validity check: for
    every 4-digit start (and random rest), the answer is the one the full path gives."""
    rng = random.Random(44)
    for start in range(1000, 10000):
        for length in (9, 10):
            number = f"+44{start}" + "".join(rng.choice("0123456789") for _ in range(length - 4))
            # A leading space takes the full path (parse, format, check) to the same number.
            assert _outcome(number) == _outcome(" " + number), number


@pytest.mark.parametrize(
    "number",
    ["+441000000000", "+447000000000", "+44200000000", "+441632960000", "+447700900000"],
)
def test_invalid_and_drama_numbers_in_e164_are_judged_as_before(number: str) -> None:
    assert _outcome(number) == _outcome(" " + number)


def _outcome(raw: str) -> str:
    try:
        return phones._normalise(raw, phones.DEFAULT_REGION)
    except InvalidPhone as error:
        return f"invalid: {error}"


# Calling codes several regions share (+1 NANPA, +7, +44 with the Crown dependencies, +262,
# +590, +599), one region's (+33, +353, +61) and a non-geographic one (+800).
CALLING_CODES = (1, 7, 44, 262, 590, 599, 33, 353, 61, 800)


def test_the_validity_check_answers_as_libphonenumber_for_every_number() -> None:
    """``phones.is_valid_number`` skips a repeated step of ``phonenumbers.is_valid_number``:
    the same answer for random numbers of every length under shared and single calling
    codes, and for each 4-digit start of a UK number (GB, Guernsey, Jersey, Isle of Man)."""
    rng = random.Random(20261205)
    numbers = [
        phonenumbers.PhoneNumber(country_code=code, national_number=_digits(rng, length))
        for code in CALLING_CODES
        for length in range(6, 12)
        for _ in range(60)
    ]
    numbers += [
        phonenumbers.PhoneNumber(country_code=44, national_number=int(f"{start}{tail:06d}"))
        for start in range(1000, 10000)
        for tail in (rng.randrange(10**6),)
    ]
    valid = [phones.is_valid_number(n) for n in numbers]
    assert valid == [phonenumbers.is_valid_number(n) for n in numbers]
    assert 0 < sum(valid) < len(valid)  # both answers are exercised


def test_the_validity_check_answers_as_libphonenumber_at_the_edges_of_each_type() -> None:
    """For every region of every calling code regions share, libphonenumber's example
    number of each type, and the same a digit shorter, a digit longer and with its last
    digits changed: where the types' patterns and lengths meet."""
    rng = random.Random(20261207)
    numbers = []
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        if len(regions) < 2:
            continue
        for region in regions:
            for kind in range(12):  # every PhoneNumberType but UNKNOWN
                example = phonenumbers.example_number_for_type(region, kind)
                if example is None:
                    continue
                national = str(example.national_number)
                for text in (
                    national,
                    national[:-1],
                    national + str(rng.randrange(10)),
                    national[:-3] + f"{rng.randrange(1000):03d}",
                ):
                    numbers.append(
                        phonenumbers.PhoneNumber(country_code=code, national_number=int(text))
                    )
    valid = [phones.is_valid_number(n) for n in numbers]
    assert valid == [phonenumbers.is_valid_number(n) for n in numbers]
    assert 0.3 < sum(valid) / len(valid) < 0.9  # both answers, many of each


def _digits(rng: random.Random, length: int) -> int:
    return int(
        str(rng.randrange(1, 10)) + "".join(rng.choice("0123456789") for _ in range(length - 1))
    )


# Made-up regions (ISO 3166's user-assigned codes: no real region has them), each with
# metadata in which one of libphonenumber's steps that today's real metadata never tells
# apart decides whether a number has a type. ``_has_a_type`` must take the same step.
_DESC = phonenumbers.PhoneNumberDesc


_ANY = _DESC(national_number_pattern=r"\d{8,11}")
MADE_UP: dict[str, dict[str, phonenumbers.PhoneNumberDesc]] = {
    # A type whose pattern takes the number but whose possible lengths do not.
    "QM": {"fixed_line": _DESC(national_number_pattern=r"1\d{8,9}", possible_length=(10,))},
    # Mobile written with fixed line's pattern (so libphonenumber never tries it apart
    # from fixed line), but with lengths of its own.
    "QN": {
        "fixed_line": _DESC(national_number_pattern=r"[17]\d{8,9}", possible_length=(10,)),
        "mobile": _DESC(national_number_pattern=r"[17]\d{8,9}", possible_length=(9,)),
    },
    # A type's pattern wider than the region's general one.
    "QO": {
        "general_desc": _DESC(national_number_pattern=r"1\d{8}", possible_length=(9, 10)),
        "fixed_line": _DESC(national_number_pattern=r"[12]\d{8,9}", possible_length=(9, 10)),
    },
}


@pytest.fixture
def made_up_regions() -> Iterator[dict[str, phonenumbers.PhoneMetadata]]:
    registry = phonenumbers.PhoneMetadata._region_metadata
    assert not set(MADE_UP) & set(registry)
    made = {
        region: phonenumbers.PhoneMetadata(
            region,
            general_desc=descs.get("general_desc", _ANY),
            fixed_line=descs.get("fixed_line"),
            mobile=descs.get("mobile"),
            country_code=999,
        )
        for region, descs in MADE_UP.items()
    }
    phones._type_patterns.cache_clear()
    yield made
    for region in MADE_UP:
        registry.pop(region, None)
    phones._type_patterns.cache_clear()


@pytest.mark.parametrize("region", sorted(MADE_UP))
def test_a_type_is_found_by_libphonenumbers_own_steps_in_made_up_metadata(
    region: str, made_up_regions: dict[str, phonenumbers.PhoneMetadata]
) -> None:
    metadata = made_up_regions[region]
    numbers = [f"{lead}{rest}" for lead in "127" for rest in ("12345678", "123456789")]
    type_of = phonenumberutil._number_type_helper  # libphonenumber's own step
    theirs = {
        number: type_of(number, metadata) != phonenumbers.PhoneNumberType.UNKNOWN
        for number in numbers
    }
    ours = {number: phones._has_a_type(number, metadata) for number in numbers}
    assert ours == theirs
    # Each region has numbers of both kinds, so the step it is made for decides some.
    assert set(theirs.values()) == {True, False}


def test_a_stored_number_is_shown_as_people_write_it() -> None:
    """UK numbers in the national format, others international; a route that is not a
    number, a masked number or one that cannot be read, as stored."""
    shown = [
        phone_as_written(n)
        for n in ("+447700900101", "+441772000100", "+33123456789", "sip:desk@example.org")
    ]
    assert shown == ["07700 900101", "01772 000100", "+33 1 23 45 67 89", "sip:desk@example.org"]
    odd = ("+44*******101", "", "+4412", "+4412345", "+4400000000", "+440123456789")
    assert [phone_as_written(n) for n in odd] == list(odd)
