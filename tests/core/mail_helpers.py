"""What the mailing tests share: a newsletter, its template, and three people who stand
differently towards it."""

from core import consents, documents, people, unsubscribe
from core.documents import Template
from core.models import Person

EVIDENCE = "Chcę dostawać newsletter stowarzyszenia."
LETTER = Template("test.newsletter", "email", "person", {"pl": "Newsletter", "en": "Newsletter"},
                  "<p>Dzień dobry {{ person.first_name }}!</p>",
                  subject="Zaproszenie dla {{ person.full_name }}",
                  text_body="Dzień dobry {{ person.first_name }}!\nPortal: {{ links.portal }}")


def newsletter_audience(session, admin) -> dict:
    """The "newsletter" purpose, the template, and Anna (consented), Bogdan (did not)
    and Cezary (consented, but his address is on the no-marketing list). Returns the
    template's key and the people's ids by first name."""
    consents.create_purpose(session, {"key": "newsletter", "name": "Newsletter",
                                      "legal_basis": "consent"}, admin)
    template = documents.ship(session, LETTER)
    ids = {}
    for first, last, email in (("Anna", "Nowak", "anna@example.org"),
                               ("Bogdan", "Lis", "bogdan@example.org"),
                               ("Cezary", "Wrona", "cezary@example.org")):
        ids[first] = people.create(session, {"first_name": first, "last_name": last,
                                             "emails": [email]}).id
    for name in ("Anna", "Cezary"):
        consents.give(session, session.get(Person, ids[name]), "newsletter", "form",
                      EVIDENCE)
    unsubscribe.import_addresses(session, "email\ncezary@example.org\n", None, admin)
    return {"template": template.key, **ids}
