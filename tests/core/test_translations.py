"""Polish is the default language: every string shown to people has its translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from core import people
from core.errors import ValidationError

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def source_messages() -> set:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for folder in ("core", "plugins"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map, options_map, keywords=KEYWORDS):
            found.add((_context, message))
    return found


def test_every_message_in_the_code_has_a_polish_translation():
    po = ROOT / "core" / "translations" / "pl" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as src:
        catalog = read_po(src, locale="pl")
    translated = {(m.context, m.id) for m in catalog if m.id and m.string and not m.fuzzy
                  and (not isinstance(m.string, tuple) or all(m.string))}
    missing = sorted(str(m) for m in source_messages() - translated)
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing)


def test_validation_messages_come_in_polish_on_a_polish_page(kartoteka_app_factory):
    app = kartoteka_app_factory()
    with app.test_request_context():
        try:
            people.clean({"first_name": "A" * 101, "last_name": "Nowak", "pesel": "123",
                          "emails": ["nie-adres"], "extra": 1})
        except ValidationError as exc:
            errors = exc.errors
    assert errors == {"first_name": "Najwyżej 100 znaków.",
                      "pesel": "PESEL musi mieć 11 cyfr.",
                      "emails.0": "To nie jest poprawny adres e-mail.",
                      "extra": "Nieznane pole."}
