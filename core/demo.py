"""Demo data: each enabled plugin creates its own, dependencies first."""

from __future__ import annotations

from core.errors import PluginError


def load(rt) -> list[str]:
    """Run every plugin's demo loader in its own transaction; returns who ran."""
    done = []
    for impl in rt.host.pm.hook.kartoteka_load_demo_data.get_hookimpls():
        with rt.session() as session, session.begin():
            try:
                impl.function(**{k: session for k in impl.argnames})
            except Exception as exc:
                raise PluginError(impl.plugin_name,
                                  f"demo data failed: {type(exc).__name__}: {exc}") from exc
        done.append(impl.plugin_name)
    return done


# The core's own demo records: a small card index of Greater Poland, so that a first
# look at Kartoteka is not an empty screen.
ORGANISATIONS = [
    ("Gmina Kórnik", "core.municipality", "7773061579", "Kórnik", "62-035"),
    ("Gmina Mosina", "core.municipality", "", "Mosina", "62-050"),
    ("Miasto Gniezno", "core.municipality", "", "Gniezno", "62-200"),
    ("Powiat Poznański", "core.county", "", "Poznań", "60-509"),
    ("Starostwo Powiatowe w Śremie", "core.county", "", "Śrem", "63-100"),
    ("Fundacja Zielony Dom", "core.foundation", "", "Poznań", "61-001"),
    ("SolarTech sp. z o.o.", "core.company", "", "Swarzędz", "62-020"),
]
# Fields an association of municipalities would add itself, with values for the demo.
FIELDS = [
    {"key": "inhabitants", "type": "integer", "label_pl": "Liczba mieszkańców",
     "label_en": "Inhabitants", "options": {"in_list": True, "min": 0}, "indexed": True},
    {"key": "membership", "type": "choice", "label_pl": "Członkostwo",
     "label_en": "Membership", "options": {"in_list": True, "choices": [
         {"value": "member", "label_pl": "Członek", "label_en": "Member"},
         {"value": "candidate", "label_pl": "Kandydat", "label_en": "Candidate"}]}},
    {"key": "member_since", "type": "date", "label_pl": "Członek od",
     "label_en": "Member since"},
]
FIELD_VALUES = {
    "Gmina Kórnik": {"inhabitants": 29000, "membership": "member", "member_since": "2015-03-01"},
    "Gmina Mosina": {"inhabitants": 32000, "membership": "member", "member_since": "2018-01-01"},
    "Miasto Gniezno": {"inhabitants": 66000, "membership": "candidate"},
}
PEOPLE = [
    ("Anna", "Nowak", "anna.nowak@kornik.example.pl", "Gmina Kórnik", "sekretarz gminy"),
    ("Piotr", "Wiśniewski", "p.wisniewski@mosina.example.pl", "Gmina Mosina", "skarbnik"),
    ("Katarzyna", "Lewandowska", "k.lewandowska@gniezno.example.pl", "Miasto Gniezno",
     "kierownik referatu oświaty"),
    ("Tomasz", "Zieliński", "t.zielinski@powiat.example.pl", "Powiat Poznański", "starosta"),
    ("Magdalena", "Wójcik", "m.wojcik@zielonydom.example.org", "Fundacja Zielony Dom",
     "prezes zarządu"),
]


def core_demo(session) -> None:
    """Create the core's demo organisations and people if they are not there yet."""
    from datetime import date

    from sqlalchemy import select

    from core import events, memberships, organisations, people, timeline
    from core.models import Organisation, Person

    host = events.host_of(session)
    _demo_fields(session)
    by_name = {}
    for name, type_key, nip, city, postal in ORGANISATIONS:
        found = session.scalar(select(Organisation).where(Organisation.name == name))
        by_name[name] = found or organisations.create(
            session, host, {"name": name, "type_key": type_key, "nip": nip, "city": city,
                            "postal_code": postal, "region": "wielkopolskie"},
            allow_duplicates=True)
    for first, last, email, org_name, role in PEOPLE:
        if session.scalar(select(Person).where(Person.first_name == first,
                                               Person.last_name == last)) is not None:
            continue
        person = people.create(session, {"first_name": first, "last_name": last,
                                         "emails": [email]}, allow_duplicates=True)
        memberships.join(session, person, by_name[org_name], role, date(2022, 1, 1))
        timeline.add(session, "call", f"Rozmowa z: {person.full_name}",
                     [person, by_name[org_name]],
                     body="Zainteresowanie szkoleniem z zamówień publicznych.")
    _demo_mailing(session)


def _demo_fields(session) -> None:
    from sqlalchemy import select

    from core import field_definitions
    from core.models import FieldDefinition

    for data in FIELDS:
        if session.scalar(select(FieldDefinition.id).where(
                FieldDefinition.record_type == "organisation",
                FieldDefinition.key == data["key"])) is None:
            field_definitions.create(session, {"record_type": "organisation", **data})


NEWSLETTER = "<p>Dzień dobry {{ person.first_name }},</p>\n<p>zapraszamy na szkolenie z " \
    "zamówień publicznych w Poznaniu.</p>\n<p>{{ company.name }}</p>"


def _demo_mailing(session) -> None:
    """A newsletter purpose, the consents of three demo people, an e-mail template and a
    draft mailing to them: a mailing to preview and test-send on a first look."""
    from sqlalchemy import select

    from core import consents, documents, records
    from core.models import DocumentTemplate, Mailing, Person

    if consents.purpose_by_key(session, "newsletter") is not None:
        return
    consents.create_purpose(session, {
        "key": "newsletter", "name": "Newsletter o szkoleniach", "legal_basis": "consent",
        "description": "Zaproszenia na szkolenia i konferencje."})
    chosen = list(session.scalars(select(Person).where(
        Person.first_name.in_(("Anna", "Piotr", "Katarzyna"))).order_by(Person.id)))
    for person in chosen:
        consents.give(session, person, "newsletter", "form",
                      "Chcę otrzymywać zaproszenia na szkolenia.")
    if session.scalar(select(DocumentTemplate.id).where(
            DocumentTemplate.key == "local.newsletter")) is None:
        documents.create(session, {"key": "local.newsletter", "kind": "email",
                                   "subject_type": "person", "name_pl": "Zaproszenie",
                                   "name_en": "Invitation", "body": NEWSLETTER,
                                   "subject": "Zaproszenie na szkolenie, "
                                              "{{ person.first_name }}"})
    template = session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.key == "local.newsletter"))
    # Tomasz gave no consent: the mailing's reach shows him left out.
    audience = [p.id for p in chosen] + list(session.scalars(
        select(Person.id).where(Person.first_name == "Tomasz")))
    records.create(session, Mailing(
        name="Zaproszenie na szkolenie", template_id=template.id, kind="marketing",
        purpose_key="newsletter", audience="people", person_ids=audience), None)
    _demo_form(session)


def _demo_form(session) -> None:
    """A sign-up for the newsletter at /forms/newsletter, open to anyone."""
    from core import consents, public_forms

    public_forms.create(session, {
        "key": "newsletter", "title": "Zapisz się na newsletter o szkoleniach",
        "intro": "Raz w miesiącu: szkolenia i konferencje dla samorządów.",
        "fields": [{"field": "email", "required": True}, {"field": "city"}],
        "consent_text": "Chcę otrzymywać zaproszenia na szkolenia.",
        "purpose_id": consents.purpose_by_key(session, "newsletter").id,
        "tags": ["newsletter"], "thank_you": "Dziękujemy! Pierwszy numer wkrótce."})
