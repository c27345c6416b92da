"""Fields of the grants plugin's cases: why an opportunity was lost; an application's
amounts, its grant agreement and the durability promised (GR-1, GR-3, GR-4).
Administrators may relabel, reorder or extend them."""

from core import CustomField

OPPORTUNITY, APPLICATION = "grants.opportunity", "grants.application"

LOST_REASON = "grants_lost_reason"
REQUESTED, PROJECT_VALUE = "grants_requested_amount", "grants_project_value"
AWARDED, AWARDED_ON = "grants_awarded_amount", "grants_awarded_on"
REJECTION_REASON = "grants_rejection_reason"
WITHDRAWAL_REASON = "grants_withdrawal_reason"
AGREEMENT_NUMBER, AGREEMENT_DATE = "grants_agreement_number", "grants_agreement_date"
PROJECT_START, PROJECT_END = "grants_project_start", "grants_project_end"
ADVANCE_PERCENT, INTERIM_REQUESTS = "grants_advance_percent", "grants_interim_requests"
FINAL_PERCENT, DURABILITY_YEARS = "grants_final_percent", "grants_durability_years"

LOST_REASONS = {"choices": [
    {"value": "no_call", "label_pl": "Brak odpowiedniego naboru",
     "label_en": "No suitable call for proposals"},
    {"value": "not_eligible", "label_pl": "Firma nie spełnia kryteriów",
     "label_en": "The firm is not eligible"},
    {"value": "competitor", "label_pl": "Wybrał konkurencję", "label_en": "Chose a competitor"},
    {"value": "price", "label_pl": "Za wysoka cena", "label_en": "Price too high"},
    {"value": "resigned", "label_pl": "Klient zrezygnował", "label_en": "The client gave up"},
    {"value": "other", "label_pl": "Inny", "label_en": "Other"},
]}
PERCENT = {"min": "0", "max": "100"}


def _field(process: str, key: str, type_: str, pl: str, en: str, position: int,
           group: str, **extra) -> CustomField:
    return CustomField("case", key, type_, {"pl": pl, "en": en}, group=group,
                       position=position, processes=(process,), **extra)


def _application(key, type_, pl, en, position, group="Wniosek", **extra) -> CustomField:
    return _field(APPLICATION, key, type_, pl, en, position, group, **extra)


FIELDS = [
    _field(OPPORTUNITY, LOST_REASON, "choice", "Powód utraty", "Reason lost", 1, "Szansa",
           options=LOST_REASONS),
    _application(REQUESTED, "money", "Wnioskowana kwota dotacji", "Grant requested", 1,
                 options={"currency": "PLN"}),
    _application(PROJECT_VALUE, "money", "Wartość projektu", "Project value", 2,
                 options={"currency": "PLN"}),
    _application(AWARDED, "money", "Przyznana kwota dotacji", "Grant awarded", 3,
                 options={"currency": "PLN"}, indexed=True),
    _application(AWARDED_ON, "date", "Data przyznania", "Awarded on", 4, indexed=True),
    _application(REJECTION_REASON, "long_text", "Powód odrzucenia", "Reason rejected", 5),
    _application(WITHDRAWAL_REASON, "long_text", "Powód rezygnacji lub rozwiązania umowy",
                 "Reason withdrawn or agreement terminated", 6),
    _application(AGREEMENT_NUMBER, "text", "Numer umowy o dofinansowanie",
                 "Grant agreement number", 1, group="Umowa o dofinansowanie"),
    _application(AGREEMENT_DATE, "date", "Data podpisania umowy", "Agreement signed on", 2,
                 group="Umowa o dofinansowanie"),
    _application(PROJECT_START, "date", "Początek realizacji projektu", "Project starts", 3,
                 group="Umowa o dofinansowanie"),
    _application(PROJECT_END, "date", "Koniec realizacji projektu", "Project ends", 4,
                 group="Umowa o dofinansowanie"),
    _application(ADVANCE_PERCENT, "percentage", "Zaliczka (% dotacji)",
                 "Advance (% of the grant)", 5, group="Umowa o dofinansowanie",
                 options=PERCENT, default="0"),
    _application(INTERIM_REQUESTS, "integer", "Liczba wniosków pośrednich",
                 "Interim payment requests", 6, group="Umowa o dofinansowanie",
                 options={"min": 0, "max": 40}, default=2),
    _application(FINAL_PERCENT, "percentage", "Płatność końcowa (% dotacji)",
                 "Final payment (% of the grant)", 7, group="Umowa o dofinansowanie",
                 options=PERCENT, default="10"),
    _application(DURABILITY_YEARS, "integer", "Okres trwałości (lata)",
                 "Durability period (years)", 8, group="Umowa o dofinansowanie",
                 options={"min": 1, "max": 10}, default=3),
]
