"""Helpers of the staff pages' tests: writing through the services, reading pages."""

import html
import re
from contextlib import contextmanager

from sqlalchemy import func, select

from core import organisations, users
from core.testing import ADMIN_EMAIL


@contextmanager
def writing(app):
    """A transaction of the app's services, acting as the administrator (if any)."""
    rt = app.extensions["kartoteka"]
    with rt.session() as session, session.begin():
        yield session, users.find_by_email(session, ADMIN_EMAIL)


def add_org(app, name="Gmina Kórnik", type_key="core.municipality", **fields) -> int:
    host = app.extensions["kartoteka"].host
    with writing(app) as (session, admin):
        data = {"name": name, "type_key": type_key, **fields}
        return organisations.create(session, host, data, admin, allow_duplicates=True).id


def fetch(app, model, record_id):
    with app.extensions["kartoteka"].session() as session:
        return session.get(model, record_id)


def count(app, model, *where) -> int:
    with app.extensions["kartoteka"].session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def show(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return text(response)


def visible(fragment: str) -> str:
    """What a reader sees of some HTML: the text without tags, spaces squashed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>', page)


def error_under(page: str, name: str) -> str | None:
    """The message a form shows under the field ``name`` (its ``e-<name>`` element)."""
    found = re.search(rf'<(span|p) class="error" id="e-{re.escape(name)}"[^>]*>(.*?)</\1>',
                      page, re.S)
    return found.group(2).strip() if found else None


def value_of(page: str, name: str) -> str | None:
    """What a form's text field ``name`` holds (kept after a refusal)."""
    found = re.search(rf'<input id="f-{re.escape(name)}" name="{re.escape(name)}"[^>]*'
                      r'value="([^"]*)"', page, re.S)
    return found.group(1) if found else None
