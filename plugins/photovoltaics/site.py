"""Where an installation is and whom to call there: the client organisation's address,
or for a household, the address of the first person on the case (the investor)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.models import Case, Organisation, Person


@dataclass(frozen=True)
class Site:
    client: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "PL"
    phone: str = ""
    region: str = ""

    @property
    def address(self) -> str:
        town = " ".join(p for p in (self.postal_code, self.city) if p)
        return ", ".join(p for p in (self.street, town) if p)


def site_of(session: Session, case: Case) -> Site:
    """The site of an installation, or of the installation a part belongs to."""
    if case.parent_id is not None and case.organisation_id is None and not case.people:
        case = session.get(Case, case.parent_id) or case
    firm = session.get(Organisation, case.organisation_id) if case.organisation_id else None
    if firm is not None and firm.deleted_at is None and firm.city:
        return Site(firm.name, firm.street, firm.postal_code, firm.city, firm.country,
                    firm.phone, firm.region)
    for link in case.people:
        person = session.get(Person, link.person_id)
        if person is not None and person.deleted_at is None:
            return _of_person(person)
    return Site(client=firm.name) if firm is not None else Site()


def _of_person(person: Person) -> Site:
    name = f"{person.first_name} {person.last_name}".strip()
    phone = next((c.value for c in sorted(person.contacts, key=lambda c: not c.is_primary)
                  if c.kind == "phone"), "")
    address = person.addresses[0] if person.addresses else None
    if address is None:
        return Site(client=name, phone=phone)
    return Site(name, address.street, address.postal_code, address.city, address.country,
                phone, address.region)
