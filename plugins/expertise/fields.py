"""The department an inquiry is routed to (EX-2): a single choice on the inquiry."""

from core import CustomField
from plugins.expertise.process import INQUIRY


def _choice(value: str, pl: str, en: str) -> dict:
    return {"value": value, "label_pl": pl, "label_en": en}


FIELDS = [
    CustomField("case", "expertise_department", "choice",
                {"pl": "Dział", "en": "Department"},
                help={"pl": "Dział, który przygotuje opinię, według jego specjalizacji.",
                      "en": "The department that will prepare the opinion, by its "
                            "specialisation."},
                group="Ekspertyzy", position=1, processes=(INQUIRY.key,),
                options={"in_list": True, "choices": [
                    _choice("construction", "Budownictwo", "Construction"),
                    _choice("vehicles", "Pojazdy", "Vehicles"),
                    _choice("real_estate", "Nieruchomości", "Real estate"),
                    _choice("it", "Informatyka", "IT"),
                ]}),
]
