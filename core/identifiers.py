"""Polish identifiers and contact numbers: one stored spelling, specific error messages.

People type the same NIP, IBAN or phone number in many ways ("PL 525-000-12-34",
"5250001234"); records store one normalised form so that searching and duplicate
detection work, and ``format`` turns it back into the spelling people read.
Check digits are verified with python-stdnum and phone numbers with phonenumbers;
a refused value raises ``ValidationError({kind: message})`` whose message tells the
user what is wrong (length, check digit, date) rather than just "invalid".
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import phonenumbers
from flask_babel import gettext as _
from stdnum import iban, numdb
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.pl import nip, pesel, regon

from core.errors import ValidationError

KINDS = ("nip", "regon", "pesel", "krs", "iban", "postal_code", "phone")

# Separators people and word processors put in numbers: any whitespace (also the
# non-breaking space of copied text), the hyphen and the Unicode dashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")
# Labels copied along with the number, as in "NIP: 525-000-12-34".
_LABELS = {"nip": "NIP", "regon": "REGON", "pesel": "PESEL", "krs": "KRS", "iban": "IBAN"}
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+")
_POSTAL_CODE = re.compile(r"([0-9]{2})([0-9]{3})")
_PHONE_REGION = "PL"
_PL_PHONE_DIGITS = 9
_KRS_DIGITS = 10


def _invalid(kind: str, message: str) -> ValidationError:
    """The error forms show next to the field named after the kind."""
    return ValidationError({kind: message})


def _compact(kind: str, value: str) -> str:
    """Drop separators and a leading label, which never belong to the number itself."""
    value = _SEPARATORS.sub("", value)
    label = _LABELS.get(kind)
    if label and value[: len(label)].upper() == label:
        value = value[len(label):].removeprefix(":")
    return value


def _stdnum_error(kind: str, exc: StdnumError, *, chars: str, length: str,
                  checksum: str = "", component: str = "") -> ValidationError:
    """Map stdnum's exception to the message that says what the user must fix.

    InvalidLength is a subclass of InvalidFormat, so it is tested first.
    """
    if isinstance(exc, InvalidLength):
        return _invalid(kind, length)
    if isinstance(exc, InvalidChecksum) and checksum:
        return _invalid(kind, checksum)
    if isinstance(exc, InvalidComponent) and component:
        return _invalid(kind, component)
    return _invalid(kind, chars)


def _normalise_nip(value: str) -> str:
    """Tax number: 10 digits; the "PL" of EU VAT numbers is not part of it."""
    try:
        return nip.validate(_compact("nip", value))
    except StdnumError as exc:
        raise _stdnum_error(
            "nip", exc,
            chars=_("The NIP may contain only digits, optionally preceded by PL."),
            length=_("The NIP must have 10 digits."),
            checksum=_("The NIP's check digit is wrong: check for a typo."),
        ) from exc


def _normalise_regon(value: str) -> str:
    """Statistical number: 9 digits for an entity, 14 for its local unit."""
    try:
        return regon.validate(_compact("regon", value))
    except StdnumError as exc:
        raise _stdnum_error(
            "regon", exc,
            chars=_("The REGON may contain only digits."),
            length=_("The REGON must have 9 or 14 digits."),
            checksum=_("The REGON's check digit is wrong: check for a typo."),
        ) from exc


def _normalise_pesel(value: str) -> str:
    """Personal number: 11 digits that encode a birth date, which cannot lie ahead."""
    impossible_date = _("This PESEL has an impossible birth date.")
    try:
        number = pesel.validate(_compact("pesel", value))
    except StdnumError as exc:
        raise _stdnum_error(
            "pesel", exc,
            chars=_("The PESEL may contain only digits."),
            length=_("The PESEL must have 11 digits."),
            checksum=_("The PESEL's check digit is wrong: check for a typo."),
            component=impossible_date,
        ) from exc
    # stdnum accepts births up to 2299; a future date is a typo in the month digits.
    if pesel.get_birth_date(number) > datetime.date.today():
        raise _invalid("pesel", impossible_date)
    return number


def _normalise_krs(value: str) -> str:
    """Court register number: 10 digits without a check digit, so only the form is checked.

    Shorter numbers are padded with zeros: people write "KRS 12345" and spreadsheets
    drop leading zeros, but the register always prints ten digits.
    """
    number = _compact("krs", value)
    if not number.isdecimal() or not number.isascii():
        raise _invalid("krs", _("The KRS number may contain only digits."))
    if len(number) > _KRS_DIGITS:
        raise _invalid("krs", _("The KRS number must have 10 digits."))
    return number.zfill(_KRS_DIGITS)


def _iban_length(number: str) -> int | None:
    """The length of an IBAN in its country (from stdnum's registry), None if unknown."""
    info = numdb.get("iban").info(number)
    bban = info[0][1].get("bban")
    if not bban:
        return None
    return 4 + sum(int(n) for n in re.findall(r"([0-9]+)!", bban))


def _normalise_iban(value: str) -> str:
    """Bank account number; 26 digits alone are a Polish account (NRB) and get "PL".

    Length and country are checked before stdnum, which would otherwise report a
    missing digit as a wrong check digit.
    """
    number = _compact("iban", value).replace(".", "").upper()
    if number.isdecimal() and number.isascii():
        number = "PL" + number
    if not _IBAN_SHAPE.fullmatch(number):
        raise _invalid("iban", _("An IBAN starts with a two-letter country code and two "
                                 "check digits, and contains only letters and digits."))
    length = _iban_length(number)
    if length is None:
        raise _invalid("iban", _("The IBAN's country code is not recognised."))
    if len(number) != length and number.startswith("PL"):
        raise _invalid("iban", _("A Polish account number must have 26 digits."))
    if len(number) != length:
        raise _invalid("iban", _("An IBAN from %(country)s must have %(length)d characters.",
                                 country=number[:2], length=length))
    try:
        return iban.validate(number)
    except StdnumError as exc:
        raise _stdnum_error(
            "iban", exc,
            chars=_("The IBAN contains characters that are not allowed for its country."),
            length=_("The IBAN has the wrong length for its country."),
            checksum=_("The IBAN's check digits are wrong: check for a typo."),
            component=_("The IBAN's country code is not recognised."),
        ) from exc


def _normalise_postal_code(value: str) -> str:
    """Polish postal code, stored as NN-NNN whether typed with the dash or without."""
    match = _POSTAL_CODE.fullmatch(_compact("postal_code", value))
    if not match:
        raise _invalid("postal_code", _("The postal code must have 5 digits, written as NN-NNN."))
    return f"{match.group(1)}-{match.group(2)}"


def _parse_phone(value: str) -> phonenumbers.PhoneNumber:
    """Parse with Poland as the default country, so national numbers need no +48."""
    try:
        return phonenumbers.parse(value, _PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            message = _("The phone number's country code is not recognised.")
        elif exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            message = _("The phone number is too long.")
        elif exc.error_type == phonenumbers.NumberParseException.NOT_A_NUMBER:
            message = _("This does not look like a phone number.")
        else:
            message = _("The phone number is too short.")
        raise _invalid("phone", message) from exc


def _normalise_phone(value: str) -> str:
    """Phone number in E.164 ("+48600100200"): one spelling per line, dialable anywhere.

    E.164 has no room for an extension, so one is refused rather than silently lost.
    """
    number = _parse_phone(value)
    if number.extension:
        raise _invalid("phone", _("Enter the phone number without an extension."))
    if (number.country_code == 48
            and len(phonenumbers.national_significant_number(number)) != _PL_PHONE_DIGITS):
        raise _invalid("phone", _("A Polish phone number must have 9 digits."))
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        raise _invalid("phone", _("The phone number's country code is not recognised."))
    if reason in (phonenumbers.ValidationResult.TOO_SHORT,
                  phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise _invalid("phone", _("The phone number is too short."))
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        raise _invalid("phone", _("The phone number is too long."))
    if not phonenumbers.is_valid_number(number):
        raise _invalid("phone", _("This is not a valid phone number: check the digits "
                                  "and the country code."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "nip": _normalise_nip,
    "regon": _normalise_regon,
    "pesel": _normalise_pesel,
    "krs": _normalise_krs,
    "iban": _normalise_iban,
    "postal_code": _normalise_postal_code,
    "phone": _normalise_phone,
}


def _check_kind(kind: str) -> None:
    """A misspelt kind is a programming error, not a user's: fail loudly even on ""."""
    if kind not in _NORMALISERS:
        raise ValueError(f"Unknown identifier kind {kind!r}; expected one of {KINDS}")


def normalise(kind: str, value: str) -> str:
    """The one stored spelling of ``value``, so equal numbers compare equal.

    Raises ``ValidationError({kind: message})`` for an invalid value. Empty or blank
    input gives "": an empty optional field is not an error (required fields are
    checked elsewhere).
    """
    _check_kind(kind)
    if value is None or not value.strip():
        return ""
    return _NORMALISERS[kind](value.strip())


def format(kind: str, value: str) -> str:
    """The spelling people read: NIP with dashes, IBAN in fours, phone with spaces.

    A stored value that does not validate (say, imported before validation existed)
    is shown as it is rather than breaking the page that displays it.
    """
    _check_kind(kind)
    try:
        number = normalise(kind, value)
    except ValidationError:
        return value.strip()
    if not number:
        return ""
    if kind == "nip":
        return nip.format(number)
    if kind == "iban":
        return iban.format(number)
    if kind == "phone":
        return phonenumbers.format_number(phonenumbers.parse(number),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return number


def pesel_birth_date(value: str) -> datetime.date:
    """The birth date a PESEL encodes, so forms need not ask for it separately.

    Raises ``ValidationError({"pesel": message})`` if the PESEL is invalid or empty.
    """
    number = normalise("pesel", value)
    if not number:
        raise _invalid("pesel", _("The PESEL must have 11 digits."))
    return pesel.get_birth_date(number)
