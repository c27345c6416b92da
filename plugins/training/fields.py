"""What is planned for a training (TR-1, TR-4, TR-9): its date, length, trainer, venue
from the registry, price and whether members pay it, capacity and who sees it on the
portal; fields of the training's case that administrators may relabel, reorder or
extend."""

from core import CustomField
from plugins.training.process import TRAINING

GROUP = "Szkolenie"
VISIBILITY = {"choices": [
    {"value": "public", "label_pl": "Wszystkie jednostki członkowskie",
     "label_en": "Every member unit"},
    {"value": "closed", "label_pl": "Tylko wybrane jednostki", "label_en": "Chosen units only"},
    {"value": "hidden", "label_pl": "Niewidoczne w portalu", "label_en": "Not on the portal"},
]}


def _field(key: str, type_: str, pl: str, en: str, position: int, **extra) -> CustomField:
    return CustomField("case", f"training_{key}", type_, {"pl": pl, "en": en}, group=GROUP,
                       position=position, processes=(TRAINING.key,), **extra)


FIELDS = [
    _field("starts_at", "datetime", "Początek", "Starts at", 1, indexed=True),
    _field("duration_hours", "decimal", "Czas trwania (godziny)", "Duration (hours)", 2,
           options={"places": 1, "min": "0.5", "max": "200"}),
    _field("trainer", "relation", "Trener", "Trainer", 3, options={"target": "person"}),
    _field("venue", "relation", "Ośrodek szkoleniowy", "Venue", 4,
           options={"target": "training_venue"}),
    _field("price", "money", "Cena za uczestnika", "Price per participant", 5,
           options={"currency": "PLN"},
           help={"pl": "Puste: szkolenie w ramach składki członkowskiej.",
                 "en": "Empty: covered by the membership fee."}),
    _field("members_free", "boolean", "Bezpłatne dla członków", "Free for members", 6,
           help={"pl": "Jednostki z umową członkowską w dniu szkolenia nie płacą ceny.",
                 "en": "Units with a membership contract on the day do not pay the price."}),
    _field("capacity", "integer", "Liczba miejsc", "Places", 7, options={"min": 1, "max": 10000},
           help={"pl": "Kolejne zgłoszenia trafiają na listę rezerwową; puste: bez limitu.",
                 "en": "Further enrolments join the waiting list; empty: no limit."}),
    _field("visibility", "choice", "Widoczność w portalu", "Visibility on the portal", 8,
           options=VISIBILITY, default="public"),
]
