"""Polish identifiers: many spellings normalise to one, and errors say what to fix.

Valid numbers get their check digits from python-stdnum itself; invalid ones are
derived from valid ones by changing, dropping or adding one character.
"""

import datetime

import pytest
from stdnum import iban
from stdnum.pl import nip, pesel, regon

from core import identifiers
from core.errors import ValidationError
from core.identifiers import KINDS, normalise, pesel_birth_date


def with_nip_check(first9: str) -> str:
    """NIP weights its last digit by -1, so the check digit is the checksum of "...0"."""
    digit = nip.checksum(first9 + "0")
    assert digit < 10, "this prefix can have no valid NIP"
    return first9 + str(digit)


def with_regon_check(digits: str) -> str:
    """A 9-digit REGON, or a 14-digit one whose 9-digit part is valid already."""
    return digits + regon.calc_check_digit(digits)


def with_pesel_check(first10: str) -> str:
    return first10 + pesel.calc_check_digit(first10)


def with_iban_check(country: str, bban: str) -> str:
    return country + iban.calc_check_digits(country + "00" + bban) + bban


def change_digit(number: str, position: int) -> str:
    """The same number with one digit changed, as a typo would."""
    return number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1:]


def refused(kind: str, value: str) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        normalise(kind, value)
    return caught.value.errors


NIP = with_nip_check("525000123")  # 5250001233
REGON_9 = with_regon_check("19259818")  # 192598184
REGON_14 = with_regon_check(REGON_9 + "0012")
PESEL_MAN_1944 = with_pesel_check("4405140135")  # 1944-05-14
PESEL_WOMAN_2002 = with_pesel_check("0221130758")  # 2002-01-13: month + 20
PESEL_1899 = with_pesel_check("9992310135")  # 1899-12-31: month + 80
IBAN_PL = with_iban_check("PL", "10901014" "0000071219812874")
IBAN_DE = with_iban_check("DE", "37040044" "0532013000")


def test_the_test_numbers_are_valid_for_stdnum():
    assert NIP == "5250001233" and nip.is_valid(NIP)
    assert REGON_9 == "192598184" and regon.is_valid(REGON_9)
    assert len(REGON_14) == 14 and regon.is_valid(REGON_14)
    assert pesel.is_valid(PESEL_MAN_1944) and pesel.is_valid(PESEL_WOMAN_2002)
    assert IBAN_PL == "PL61109010140000071219812874" and iban.is_valid(IBAN_PL)
    assert IBAN_DE == "DE89370400440532013000" and iban.is_valid(IBAN_DE)


def test_kinds_lists_every_supported_kind():
    assert KINDS == ("nip", "regon", "pesel", "krs", "iban", "postal_code", "phone")


# --- empty input and unknown kinds -----------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", ["", "   ", "\t\n", "\u00a0"])
def test_empty_input_is_an_empty_optional_field_not_an_error(kind, value):
    assert normalise(kind, value) == ""
    assert identifiers.format(kind, value) == ""


@pytest.mark.parametrize("function", [normalise, identifiers.format])
@pytest.mark.parametrize("value", ["5250001233", ""])
def test_an_unknown_kind_is_a_programming_error(function, value):
    with pytest.raises(ValueError, match="vat_id"):
        function("vat_id", value)


def test_an_unknown_kind_is_not_a_validation_error():
    with pytest.raises(ValueError) as caught:
        normalise("vat_id", "5250001233")
    assert not isinstance(caught.value, ValidationError)


# --- NIP -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "5250001233",
    "525-000-12-33",
    "525 000 12 33",
    "52-50-00-12-33",
    "PL5250001233",
    "PL 525-000-12-33",
    "pl 525 000 12 33",
    "NIP: 525-000-12-33",
    "NIP PL 5250001233",
    "  525\u00a0000\u00a012\u00a033  ",
    "525\u2013000\u201312\u201333",
])
def test_nip_spellings_normalise_to_ten_digits(value):
    assert normalise("nip", value) == "5250001233"


@pytest.mark.parametrize("value", ["525-000-12-3", "52500012333", "5"])
def test_nip_of_wrong_length(value):
    assert refused("nip", value) == {"nip": "The NIP must have 10 digits."}


@pytest.mark.parametrize("position", range(10))
def test_nip_with_any_one_digit_wrong_fails_the_check_digit(position):
    assert refused("nip", change_digit(NIP, position)) == {
        "nip": "The NIP's check digit is wrong: check for a typo."}


@pytest.mark.parametrize("value", ["525-000-12-3X", "DE 525-000-12-33", "525/000/12/33"])
def test_nip_with_other_characters(value):
    assert refused("nip", value) == {
        "nip": "The NIP may contain only digits, optionally preceded by PL."}


# --- REGON -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["192598184", "192 598 184", "192-598-184",
                                   "REGON: 192598184"])
def test_regon_of_nine_digits(value):
    assert normalise("regon", value) == REGON_9


def test_regon_of_fourteen_digits_for_a_local_unit():
    spaced = f"{REGON_14[:9]} {REGON_14[9:]}"
    assert normalise("regon", spaced) == REGON_14
    assert normalise("regon", f"REGON {REGON_14}") == REGON_14


@pytest.mark.parametrize("value", [REGON_9[:-1], REGON_9 + "0", REGON_14[:-1], REGON_14 + "0"])
def test_regon_of_wrong_length(value):
    assert refused("regon", value) == {"regon": "The REGON must have 9 or 14 digits."}


@pytest.mark.parametrize("value", [
    change_digit(REGON_9, 8),
    change_digit(REGON_9, 0),
    change_digit(REGON_14, 13),
    # The local unit's own check digit is right, the entity's (9th digit) is wrong.
    with_regon_check(change_digit(REGON_9, 8) + "0012"),
])
def test_regon_with_a_wrong_check_digit(value):
    assert refused("regon", value) == {
        "regon": "The REGON's check digit is wrong: check for a typo."}


def test_regon_with_letters():
    assert refused("regon", "19259818X") == {"regon": "The REGON may contain only digits."}


# --- PESEL -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [PESEL_MAN_1944, f" {PESEL_MAN_1944} ",
                                   f"{PESEL_MAN_1944[:6]} {PESEL_MAN_1944[6:]}",
                                   f"PESEL: {PESEL_MAN_1944}"])
def test_pesel_spellings(value):
    assert normalise("pesel", value) == PESEL_MAN_1944


@pytest.mark.parametrize("value", [PESEL_MAN_1944[:-1], PESEL_MAN_1944 + "1"])
def test_pesel_of_wrong_length(value):
    assert refused("pesel", value) == {"pesel": "The PESEL must have 11 digits."}


@pytest.mark.parametrize("position", [0, 5, 9, 10])
def test_pesel_with_one_digit_wrong_fails_the_check_digit(position):
    assert refused("pesel", change_digit(PESEL_MAN_1944, position)) == {
        "pesel": "The PESEL's check digit is wrong: check for a typo."}


@pytest.mark.parametrize("first10", [
    "4413140135",  # month 13
    "4402300135",  # 30 February
    "5041010135",  # 1 January 2150: the month code 41 means the 22nd century
])
def test_pesel_with_an_impossible_birth_date(first10):
    assert refused("pesel", with_pesel_check(first10)) == {
        "pesel": "This PESEL has an impossible birth date."}


def test_pesel_with_letters():
    assert refused("pesel", "4405140135X") == {"pesel": "The PESEL may contain only digits."}


@pytest.mark.parametrize("number, born", [
    (PESEL_MAN_1944, datetime.date(1944, 5, 14)),
    (PESEL_WOMAN_2002, datetime.date(2002, 1, 13)),
    (PESEL_1899, datetime.date(1899, 12, 31)),
])
def test_pesel_birth_date(number, born):
    assert pesel_birth_date(number) == born
    assert pesel_birth_date(f"PESEL {number[:6]} {number[6:]}") == born


@pytest.mark.parametrize("value, message", [
    ("", "The PESEL must have 11 digits."),
    (change_digit(PESEL_MAN_1944, 10), "The PESEL's check digit is wrong: check for a typo."),
])
def test_pesel_birth_date_of_an_invalid_pesel(value, message):
    with pytest.raises(ValidationError) as caught:
        pesel_birth_date(value)
    assert caught.value.errors == {"pesel": message}


# --- KRS -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0000012345", "KRS 0000012345", "KRS: 0000 012 345",
                                   "krs0000012345", "12345", "0012345"])
def test_krs_spellings_normalise_to_ten_digits(value):
    assert normalise("krs", value) == "0000012345"


def test_krs_longer_than_ten_digits():
    assert refused("krs", "00000123456") == {"krs": "The KRS number must have 10 digits."}


@pytest.mark.parametrize("value", ["00000I2345", "0000012345/2020", "\u0661\u0662\u0663"])
def test_krs_with_other_characters(value):
    assert refused("krs", value) == {"krs": "The KRS number may contain only digits."}


# --- IBAN ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "PL61109010140000071219812874",
    "PL61 1090 1014 0000 0712 1981 2874",
    "pl61 1090 1014 0000 0712 1981 2874",
    "PL61-1090-1014-0000-0712-1981-2874",
    "IBAN: PL61 1090 1014 0000 0712 1981 2874",
    # A Polish account number (NRB) as printed on Polish invoices, without "PL".
    "61 1090 1014 0000 0712 1981 2874",
    "61109010140000071219812874",
])
def test_polish_iban_spellings(value):
    assert normalise("iban", value) == "PL61109010140000071219812874"


def test_foreign_iban():
    assert normalise("iban", "de89 3704 0044 0532 0130 00") == IBAN_DE


@pytest.mark.parametrize("value", [IBAN_PL[:-1], IBAN_PL + "0", IBAN_PL[2:-1]])
def test_polish_iban_of_wrong_length(value):
    assert refused("iban", value) == {"iban": "A Polish account number must have 26 digits."}


def test_foreign_iban_of_wrong_length():
    assert refused("iban", IBAN_DE[:-1]) == {"iban": "An IBAN from DE must have 22 characters."}


@pytest.mark.parametrize("position", [2, 3, 4, 11, 27])
def test_iban_with_one_digit_wrong_fails_the_check_digits(position):
    assert refused("iban", change_digit(IBAN_PL, position)) == {
        "iban": "The IBAN's check digits are wrong: check for a typo."}


def test_iban_with_a_letter_where_its_country_allows_only_digits():
    # Right check digits, so only the structure of a Polish account can refuse it.
    value = with_iban_check("PL", "10901014" "000007121981287A")
    assert refused("iban", value) == {
        "iban": "The IBAN contains characters that are not allowed for its country."}


def test_iban_with_an_unknown_country():
    assert refused("iban", "XX61109010140000071219812874") == {
        "iban": "The IBAN's country code is not recognised."}


@pytest.mark.parametrize("value", ["PL61 1090 1014 0000 0712 1981 287!", "P161109010140000",
                                   "PLXX109010140000071219812874"])
def test_iban_of_the_wrong_shape(value):
    assert refused("iban", value) == {
        "iban": "An IBAN starts with a two-letter country code and two check digits, "
                "and contains only letters and digits."}


# --- postal code -----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["61-001", "61001", "61 001", " 61\u2013001 ", "6-1-0-0-1"])
def test_postal_code_spellings(value):
    assert normalise("postal_code", value) == "61-001"


@pytest.mark.parametrize("value", ["6100", "610011", "61-0011", "6l-001", "AB-123", "61/001"])
def test_invalid_postal_code(value):
    assert refused("postal_code", value) == {
        "postal_code": "The postal code must have 5 digits, written as NN-NNN."}


# --- phone -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "+48 600 100 200",
    "+48600100200",
    "600-100-200",
    "600 100 200",
    "(+48) 600 100 200",
    "0048600100200",
    "00 48 600 100 200",
    "48 600 100 200",
    "tel. 600 100 200",
    "+48\u00a0600\u00a0100\u00a0200",
])
def test_mobile_phone_spellings_normalise_to_e164(value):
    assert normalise("phone", value) == "+48600100200"


@pytest.mark.parametrize("value", ["(61) 852 00 00", "61 852-00-00", "+48 61 852 00 00"])
def test_landline_phone_with_area_code(value):
    assert normalise("phone", value) == "+48618520000"


@pytest.mark.parametrize("value, number", [
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),
    ("+49 30 12345678", "+493012345678"),
])
def test_foreign_phone_with_its_country_code(value, number):
    assert normalise("phone", value) == number


@pytest.mark.parametrize("value", ["600 100 20", "600 100 2000", "+48 600 100 20"])
def test_polish_phone_of_wrong_length(value):
    assert refused("phone", value) == {"phone": "A Polish phone number must have 9 digits."}


def test_polish_phone_that_no_operator_uses():
    assert refused("phone", "+48 100 100 200") == {
        "phone": "This is not a valid phone number: check the digits and the country code."}


@pytest.mark.parametrize("value, message", [
    ("+49 30", "The phone number is too short."),
    ("+49 1", "The phone number is too short."),
    ("+1 202 555 01433333", "The phone number is too long."),
    ("+999 600 100 200", "The phone number's country code is not recognised."),
    ("phone me", "This does not look like a phone number."),
    ("600 100 200 ext. 12", "Enter the phone number without an extension."),
])
def test_invalid_phone(value, message):
    assert refused("phone", value) == {"phone": message}


# --- format ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind, value, shown", [
    ("nip", "PL5250001233", "525-000-12-33"),
    ("regon", "192 598 184", "192598184"),
    ("regon", REGON_14, REGON_14),
    ("pesel", f"PESEL {PESEL_MAN_1944}", PESEL_MAN_1944),
    ("krs", "12345", "0000012345"),
    ("iban", "61109010140000071219812874", "PL61 1090 1014 0000 0712 1981 2874"),
    ("iban", IBAN_DE, "DE89 3704 0044 0532 0130 00"),
    ("postal_code", "61001", "61-001"),
    ("phone", "600100200", "+48 600 100 200"),
    ("phone", "+48618520000", "+48 61 852 00 00"),
    ("phone", "+442079460958", "+44 20 7946 0958"),
])
def test_format_for_display(kind, value, shown):
    assert identifiers.format(kind, value) == shown


@pytest.mark.parametrize("kind, value", [
    ("nip", NIP), ("regon", REGON_9), ("regon", REGON_14), ("pesel", PESEL_WOMAN_2002),
    ("krs", "0000012345"), ("iban", IBAN_PL), ("iban", IBAN_DE), ("postal_code", "61-001"),
    ("phone", "+48600100200"), ("phone", "+48618520000"), ("phone", "+442079460958"),
])
def test_format_round_trips(kind, value):
    shown = identifiers.format(kind, value)
    assert normalise(kind, shown) == value
    assert identifiers.format(kind, shown) == shown


def test_format_shows_an_invalid_stored_value_as_it_is():
    wrong = change_digit(NIP, 9)
    assert identifiers.format("nip", f"  {wrong} ") == wrong
