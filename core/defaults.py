"""The core's own hook implementations, registered before any plugin.

Core defaults are registered like a plugin named ``core`` so that the registries
treat the core's terms and permissions exactly as a plugin's.
"""

from core import hookimpl
from core.organisations import CORE_TYPES
from core.permissions import CORE_PERMISSIONS
from core.terms import Term, forms

CORE_TERMS = [
    Term("core.organisation",
         pl=forms("organizacja, organizacji, organizacji, organizację, organizacją, organizacji",
                  "organizacje, organizacji, organizacjom, organizacje, organizacjami, "
                  "organizacjach"),
         en=forms("organisation", "organisations"),
         gender="f"),
    Term("core.person",
         pl=forms("osoba, osoby, osobie, osobę, osobą, osobie",
                  "osoby, osób, osobom, osoby, osobami, osobach"),
         en=forms("person", "people"),
         gender="f"),
    Term("core.contractor",
         pl=forms("kontrahent, kontrahenta, kontrahentowi, kontrahenta, kontrahentem, "
                  "kontrahencie",
                  "kontrahenci, kontrahentów, kontrahentom, kontrahentów, kontrahentami, "
                  "kontrahentach"),
         en=forms("contractor", "contractors"),
         gender="m1"),
    Term("core.case",
         pl=forms("sprawa, sprawy, sprawie, sprawę, sprawą, sprawie",
                  "sprawy, spraw, sprawom, sprawy, sprawami, sprawach"),
         en=forms("case", "cases"),
         gender="f"),
    Term("core.process",
         pl=forms("proces, procesu, procesowi, proces, procesem, procesie",
                  "procesy, procesów, procesom, procesy, procesami, procesach"),
         en=forms("process", "processes"),
         gender="m3"),
    Term("core.phase",
         pl=forms("faza, fazy, fazie, fazę, fazą, fazie",
                  "fazy, faz, fazom, fazy, fazami, fazach"),
         en=forms("phase", "phases"),
         gender="f"),
    Term("core.approval",
         pl=forms("akceptacja, akceptacji, akceptacji, akceptację, akceptacją, akceptacji",
                  "akceptacje, akceptacji, akceptacjom, akceptacje, akceptacjami, akceptacjach"),
         en=forms("approval", "approvals"),
         gender="f"),
    Term("core.document",
         pl=forms("dokument, dokumentu, dokumentowi, dokument, dokumentem, dokumencie",
                  "dokumenty, dokumentów, dokumentom, dokumenty, dokumentami, dokumentach"),
         en=forms("document", "documents"),
         gender="m3"),
    Term("core.template",
         pl=forms("szablon, szablonu, szablonowi, szablon, szablonem, szablonie",
                  "szablony, szablonów, szablonom, szablony, szablonami, szablonach"),
         en=forms("template", "templates"),
         gender="m3"),
    Term("core.task",
         pl=forms("zadanie, zadania, zadaniu, zadanie, zadaniem, zadaniu",
                  "zadania, zadań, zadaniom, zadania, zadaniami, zadaniach"),
         en=forms("task", "tasks"),
         gender="n"),
    Term("core.user",
         pl=forms("użytkownik, użytkownika, użytkownikowi, użytkownika, użytkownikiem, "
                  "użytkowniku",
                  "użytkownicy, użytkowników, użytkownikom, użytkowników, użytkownikami, "
                  "użytkownikach"),
         en=forms("user", "users"),
         gender="m1"),
    Term("core.unit",
         pl=forms("jednostka organizacyjna, jednostki organizacyjnej, jednostce organizacyjnej, "
                  "jednostkę organizacyjną, jednostką organizacyjną, jednostce organizacyjnej",
                  "jednostki organizacyjne, jednostek organizacyjnych, jednostkom organizacyjnym, "
                  "jednostki organizacyjne, jednostkami organizacyjnymi, "
                  "jednostkach organizacyjnych"),
         en=forms("organisational unit", "organisational units"),
         gender="f"),
    Term("core.event",
         pl=forms("wydarzenie, wydarzenia, wydarzeniu, wydarzenie, wydarzeniem, wydarzeniu",
                  "wydarzenia, wydarzeń, wydarzeniom, wydarzenia, wydarzeniami, wydarzeniach"),
         en=forms("calendar event", "calendar events"),
         gender="n"),
    Term("core.activity",
         pl=forms("aktywność, aktywności, aktywności, aktywność, aktywnością, aktywności",
                  "aktywności, aktywności, aktywnościom, aktywności, aktywnościami, "
                  "aktywnościach"),
         en=forms("activity", "activities"),
         gender="f"),
    Term("core.plugin",
         pl=forms("wtyczka, wtyczki, wtyczce, wtyczkę, wtyczką, wtyczce",
                  "wtyczki, wtyczek, wtyczkom, wtyczki, wtyczkami, wtyczkach"),
         en=forms("plugin", "plugins"),
         gender="f"),
]


@hookimpl(trylast=True)
def kartoteka_register_terms():
    return CORE_TERMS


@hookimpl(trylast=True)
def kartoteka_register_permissions():
    return CORE_PERMISSIONS


@hookimpl(trylast=True)
def kartoteka_register_organisation_types():
    return CORE_TYPES


@hookimpl(trylast=True)
def kartoteka_register_billing_strategies():
    from core.billing_strategies import core_strategies

    return core_strategies()


@hookimpl(trylast=True)
def kartoteka_register_billing_exporters():
    from core.accounting_exports import BUILT_IN

    return BUILT_IN


@hookimpl(trylast=True)
def kartoteka_load_demo_data(session):
    from core.demo import core_demo

    core_demo(session)
