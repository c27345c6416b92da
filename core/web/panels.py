"""Plugins' own sections on the cards: a case's (``kartoteka_case_panels``), an
organisation's or a person's (``kartoteka_record_panels``). A failing plugin's section
is left out, so the card always opens."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import Session


def case_panels(session: Session, case) -> list[Markup]:
    return _gather("kartoteka_case_panels", session=session, case=case, viewer=current_user)


def record_panels(session: Session, record) -> list[Markup]:
    return _gather("kartoteka_record_panels", session=session, record=record,
                   viewer=current_user)


def _gather(hook: str, **kwargs) -> list[Markup]:
    host = current_app.extensions["kartoteka"].host
    return [Markup(html) for _plugin, html in host.gather(hook, **kwargs)]
