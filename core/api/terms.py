"""The installation's terminology through the API: every term as pages word it now.

Anyone may read the terms (every page shows them). Rewording one (``PUT``) or going
back to the default (``DELETE``) needs the ``core.manage_terms`` permission and goes
through ``core.term_overrides``, as the administrators' page does: the same checks and
field errors (``pl.singular.gen``, ``en.plural.nom``, ``pl.gender``), the audit trail,
and every process using the new wording from its next request. Terms have no version:
the last wording saved is the one shown.
"""

from __future__ import annotations

from flask import abort as http_abort
from flask import current_app
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from core import permissions, term_overrides, terminology
from core.api import schemas
from core.api.auth import actor
from core.api.errors import refused
from core.errors import ValidationError
from core.terminology import FORMS, Resolved
from core.terms import LOCALES, Forms
from core.web.db import db
from core.web.i18n import current_locale

MANAGE = "core.manage_terms"


class FormsSchema(Schema):
    singular = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Case -> form: nom, gen, dat, acc, ins, loc in Polish; nom alone "
                       "in English."})
    plural = fields.Dict(keys=fields.String(), values=fields.String())


class WordingSchema(FormsSchema):
    overridden = fields.Boolean(metadata={"description": "An administrator reworded it."})
    missing = fields.List(fields.String(), metadata={
        "description": "Forms the rewording leaves out (\"plural.gen\"), filled from the "
                       "others meanwhile; \"gender\" when a renamed Polish noun has none."})


class TermSchema(Schema):
    key = fields.String()
    owner = fields.String(metadata={"description": "core, or the plugin that registers it."})
    owner_label = fields.String(metadata={"description": "In the request's language."})
    overridden = fields.Boolean()
    gender = fields.String(metadata={
        "description": "The Polish noun's gender, which adjectives agree with: m1, m2, m3, "
                       "f or n."})
    pl = fields.Nested(WordingSchema)
    en = fields.Nested(WordingSchema)
    default = fields.Dict(keys=fields.String(), values=fields.Nested(FormsSchema), metadata={
        "description": "The wording the core or the plugin gives, by language."})


class LanguageInSchema(schemas.Strict):
    singular = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "Case -> form; English takes nom alone."})
    plural = fields.Dict(keys=fields.String(), load_default=dict)
    gender = fields.String(load_default="", metadata={
        "description": "Polish only: m1, m2, m3, f or n."})


class TermInSchema(schemas.Strict):
    """Each language sent is worded as given; all its forms empty returns it to the
    default. A language left out keeps its wording."""

    pl = fields.Nested(LanguageInSchema)
    en = fields.Nested(LanguageInSchema)


def blueprints() -> list[Blueprint]:
    """New blueprints per application (several apps may live in one process)."""
    bp = Blueprint("api_terms", __name__, url_prefix="/terms",
                   description="The words this installation uses for things")

    @bp.route("/")
    class Collection(MethodView):
        @bp.response(200, TermSchema(many=True))
        def get(self):
            """Every term of the core and the enabled plugins, with all its forms."""
            resolved = _resolved()
            owners = ["core", *_host().plugins]
            return [_out(r) for r in sorted(resolved.values(), key=lambda r: (
                _rank(owners, r.term.key), r.term.key))]

    @bp.route("/<string:key>")
    class Item(MethodView):
        @bp.response(200, TermSchema)
        def get(self, key):
            """One term."""
            return _out(_term(key))

        @bp.arguments(TermInSchema)
        @bp.response(200, TermSchema)
        @bp.alt_response(403, description="Needs the core.manage_terms permission.")
        @bp.alt_response(422, description="Field-level errors: pl.singular.gen, "
                                          "en.plural.nom, pl.gender.")
        def put(self, data, key):
            """Reword the term; pages use the new wording at once."""
            _require()
            _term(key)
            session, errors = db(), {}
            for locale in LOCALES:
                if locale not in data:
                    continue
                given = data[locale]
                try:
                    if _blank(given):
                        term_overrides.reset(session, key, locale, actor=actor())
                    else:
                        term_overrides.save(session, _host().terms, key, locale,
                                            given["singular"], given["plural"],
                                            given["gender"], actor=actor())
                except ValidationError as exc:
                    errors.update(exc.errors)
            if errors:
                session.rollback()
                return refused(errors)
            session.commit()
            terminology.forget_current()
            return _out(_term(key))

        @bp.response(204)
        @bp.alt_response(403, description="Needs the core.manage_terms permission.")
        def delete(self, key):
            """Go back to the default wording in both languages."""
            _require()
            _term(key)
            session = db()
            term_overrides.reset(session, key, actor=actor())
            session.commit()
            terminology.forget_current()
            return None

    return [bp]


def _host():
    return current_app.extensions["kartoteka"].host


def _resolved() -> dict[str, Resolved]:
    return terminology.of(_host()).resolved(db())


def _term(key: str) -> Resolved:
    found = _resolved().get(key)
    if found is None:
        abort(404)
    return found


def _require() -> None:
    if not permissions.can(actor(), MANAGE):
        http_abort(403, _("Your role does not allow changing the terminology."))


def _blank(given: dict) -> bool:
    """Nothing given for a language: it keeps (or returns to) the default wording, as
    on the administrators' page. A form of spaces is not blank: it is refused."""
    return not any(given["singular"].values()) and not any(given["plural"].values()) \
        and not given["gender"]


def _rank(owners: list[str], key: str) -> int:
    owner = key.split(".")[0]
    return owners.index(owner) if owner in owners else len(owners)


def _out(resolved: Resolved) -> dict:
    owner = resolved.term.key.split(".")[0]
    plugin = _host().plugins.get(owner)
    return {
        "key": resolved.term.key, "owner": owner,
        "owner_label": plugin.manifest.label(current_locale()) if plugin else _("Core"),
        "overridden": resolved.overridden, "gender": resolved.term.gender,
        **{locale: _wording(resolved, locale) for locale in LOCALES},
        "default": {locale: _forms(getattr(resolved.default, locale), locale)
                    for locale in LOCALES},
    }


def _wording(resolved: Resolved, locale: str) -> dict:
    wording = resolved.wording(locale)
    missing = [f"{number}.{case}" for number, case in wording.missing]
    if locale == "pl" and resolved.gender_missing:
        missing.append("gender")
    return {**_forms(wording.forms, locale), "overridden": wording.overridden,
            "missing": missing}


def _forms(forms: Forms, locale: str) -> dict:
    """The forms a page shows in ``locale``: every case in Polish, nom in English."""
    found: dict = {"singular": {}, "plural": {}}
    for number, case in FORMS[locale]:
        found[number][case] = getattr(forms, number)[case]
    return found

