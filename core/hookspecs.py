"""Every hook a Kartoteka plugin can implement: the plugin author's contract.

Hooks are called with keyword arguments; an implementation may accept any subset of
them, so new arguments can be added without breaking plugins. Do not give defaults to
the parameters of an implementation: pluggy ignores them.

Order: plugins are registered dependencies first and pluggy calls the last registered
first, so a plugin's implementation runs before those of the plugins it depends on,
and the core's own defaults run last.

A misspelt hook name (anything starting ``kartoteka_`` that is not declared here) stops
the plugin from being enabled.
"""

import pluggy

hookspec = pluggy.HookspecMarker("kartoteka")


# --------------------------------------------------------------------- bootstrap


@hookspec
def kartoteka_startup(app):
    """The application is assembled; the last chance for a plugin to set itself up.

    Called once per application, after every registry has been built and every
    blueprint registered, before the first request. Use it to read settings or warm a
    cache. Never change the database schema here: that is what migrations are for.

    :param app: the ``flask.Flask`` application.
    :returns: nothing.
    """


@hookspec
def kartoteka_register_migrations():
    """Where the plugin's Alembic revisions live.

    Called when the plugin is enabled and on every ``kartoteka db upgrade``. The core
    owns the Alembic environment; a plugin ships only its ``versions`` folder, and its
    revisions are tracked in its own version table, ``alembic_version_<plugin>``. Its
    tables must be named ``<plugin>_...`` and be defined on ``core.db.Base``.

    :returns: the absolute path (``str`` or ``pathlib.Path``) of the folder that holds
        the plugin's revision files, or ``None`` if it has no tables.
    """


# --------------------------------------------------------------------- registries


@hookspec
def kartoteka_register_terms():
    """Default terms: the nouns the plugin shows to people, in Polish and English.

    Called once at start-up. Keys must start with the plugin's name
    (``training.participant``); a key claimed twice stops start-up naming both plugins.

    :returns: a list of ``core.Term``.

    Example::

        @hookimpl
        def kartoteka_register_terms():
            return [Term("training.participant",
                         pl=forms("uczestnik, uczestnika, uczestnikowi, uczestnika, "
                                  "uczestnikiem, uczestniku",
                                  "uczestnicy, uczestników, uczestnikom, uczestników, "
                                  "uczestnikami, uczestnikach"),
                         en=forms("participant", "participants"))]
    """


@hookspec
def kartoteka_register_permissions():
    """Permission keys the plugin checks, for administrators to grant to roles.

    Called once at start-up. Keys are ``<plugin>.<action>``; a key claimed twice stops
    start-up naming both plugins.

    :returns: a list of ``core.Permission``.
    """


@hookspec
def kartoteka_register_organisation_types():
    """Types of organisation the plugin's users work with (a court, a school, ...).

    Called once at start-up. Keys are ``<plugin>.<type>``; the core registers the common
    ones (``core.municipality``, ``core.company``, ...) and administrators may add more
    without code.

    :returns: a list of ``core.OrgType``.

    Example::

        @hookimpl
        def kartoteka_register_organisation_types():
            return [OrgType("expertise.court", {"pl": "Sąd", "en": "Court"})]
    """


@hookspec
def kartoteka_register_field_types():
    """Kinds of custom field value the plugin adds to the core's (text, money, NIP, ...).

    Called once at start-up. Keys are ``<plugin>.<type>``. A type gives a marshmallow
    field per definition (validation and parsing, the same for forms, the API and
    import), the filter kind ("number", "text", "date", ...) and, optionally, how a
    value is shown and stored. Administrators then pick the type for their own fields.

    :returns: a list of ``core.FieldType``.

    Example::

        @hookimpl
        def kartoteka_register_field_types():
            return [FieldType("photovoltaics.kwp", {"pl": "Moc (kWp)", "en": "Power (kWp)"},
                              "number", lambda d: Number(places=2, validate=Range(0, 1000)),
                              show=lambda value, d, locale: f"{value} kWp")]
    """


@hookspec
def kartoteka_register_fields():
    """Custom field definitions the plugin ships, for administrators to adjust.

    Called at start-up; a definition missing from the database is added (its values
    then live in the record's ``custom`` JSON like an administrator's own field). An
    administrator's later changes to labels, position or settings are kept. Keys start
    with the plugin's name and an underscore. A case field that belongs to the plugin's
    own processes names them (``processes=("visits.visit",)``); cases of other
    processes neither show nor take it.

    :returns: a list of ``core.CustomField``.

    Example::

        @hookimpl
        def kartoteka_register_fields():
            return [CustomField("organisation", "photovoltaics_power", "photovoltaics.kwp",
                                {"pl": "Moc instalacji", "en": "Installed power"})]
    """


@hookspec
def kartoteka_register_processes():
    """Processes: the phases the plugin's cases move through, and how they may move.

    Called once at start-up. Each ``core.workflow.Process`` has a key starting with the
    plugin's name, phases (each named by a term, with an optional deadline, perhaps
    starting subprocesses), and transitions with their checks (guards that return the
    reason a step is not allowed), approval rules (``core.approvals.Threshold`` or
    ``Chain``, whose limits are settings administrators edit), the permission needed
    and actions run in the step's transaction. A definition naming unknown phases stops
    start-up.

    Example::

        from core.workflow import Phase, Process, Transition

        @hookimpl
        def kartoteka_register_processes():
            return [Process("visits.visit", "visits.visit",
                            phases=(Phase("planned", "visits.planned"),
                                    Phase("done", "visits.done", final=True)),
                            transitions=(Transition("planned", "done"),))]

    :returns: a list of ``core.workflow.Process``.
    """


@hookspec
def kartoteka_register_templates():
    """Default document and e-mail templates, with the number series they use.

    Called at start-up; each template is added to the database the first time its key
    is seen, and from then on belongs to the administrators, who edit it (every edit is
    a new version) without the plugin overwriting their work. Bodies are HTML with
    Jinja2 run in a sandbox; they see plain data about the record they are filled from
    (``organisation``, ``person``, or ``case`` with its ``organisation``, ``owner`` and
    ``people``), ``company``, ``document.number``, and the helpers ``money``, ``words``
    (an amount in words), ``day``, ``number`` and ``term``. They may ``{% include %}`` the
    shared parts of ``core.documents.PARTIALS`` (``letterhead.html``, ``client.html``,
    ``issuer.html``, ``owner.html``, ``signatures.html``; see docs/documents.md) and use
    the common styles of ``core.pdf.PAGE_CSS``, setting only ``:root { --accent: … }``.

    Example::

        from core.documents import Series, Template

        @hookimpl
        def kartoteka_register_templates():
            return [Template("visits.report", "letter", "organisation",
                             {"pl": "Protokół wizyty", "en": "Visit report"},
                             "<h1>Protokół {{ document.number }}</h1>"
                             "<p>{{ organisation.name }}, {{ day(today) }}</p>",
                             series=Series("visits.report", "Protokoły", "PW/{year}/{seq}"))]

    :returns: a list of ``core.documents.Template``.
    """


@hookspec
def kartoteka_register_jobs():
    """Background work: kinds of job people start and watch, and periodic work.

    A ``core.jobs.JobKind(key, run)`` is started with ``jobs.start(session, key, title,
    params, actor)`` in a transaction and run by a worker after the commit as
    ``run(rt, job, progress)``: ``progress.set_total(n)`` and ``progress.advance()``
    move the bar its starter sees, and the dict it returns is the job's result. A job
    may be run again after a crash or a failure (retried with growing pauses), so make
    it idempotent. A ``core.jobs.Periodic(key, run, minutes=1)`` runs ``run(rt)`` every
    that many minutes on a worker (reminders, sweeps). Mail goes through
    ``core.outbox.queue`` like the core's, so it is delivered once and on the timeline.

    Example::

        from core.jobs import JobKind, Periodic

        @hookimpl
        def kartoteka_register_jobs():
            return [JobKind("visits.recount", recount),
                    Periodic("visits.reminders", send_reminders, minutes=60)]

    :returns: a list of ``JobKind`` and ``Periodic``; keys start with the plugin's name.
    """


@hookspec
def kartoteka_register_billing_strategies():
    """Ways of billing that billing runs use: what is due in a period.

    A ``core.billing_strategies.Strategy(key, title, bills)`` answers
    ``bills(session, period)`` with ``Bill``s, writing nothing: each bill is one invoice
    (new ``Charge``s, which become billable items with the strategy's key as their
    source, and ``item_ids`` of items already owed) or, with ``expected=True``, payments
    to wait for. A charge's ``reference`` identifies it within the strategy, so a run
    repeated or resumed after a crash bills nothing twice. ``Bill.written(session,
    bill, invoice_id)`` is called in the bill's transaction for the strategy's own
    bookkeeping; ``Strategy.batch_written(session)``, if given, after each batch's bills,
    for bookkeeping written once for many, and ``Strategy.count(session, period)`` sizes
    the progress bar. Strategies run in the order registered, the core's two last:
    ``core.contracts`` (recurring contracts and payment schedules) and
    ``core.settlement`` (everything else owed, one invoice per client).

    Example::

        from core.billing_strategies import Bill, Charge, Strategy

        def due_visits(session, period):
            for visit in unbilled_visits(session, period.end):
                yield Bill("visits.monthly", organisation_id=visit.client_id,
                           charges=[Charge(visit.title, visit.price, visit.day,
                                           reference=f"visit-{visit.id}")])

        @hookimpl
        def kartoteka_register_billing_strategies():
            return [Strategy("visits.monthly", _l("Visits of the month"), due_visits)]

    :returns: a list of ``Strategy``; keys start with the plugin's name.
    """


@hookspec
def kartoteka_register_billing_exporters():
    """Exports of issued documents or of the organisations billed, for an accounting
    program or an office's own tools.

    Called once at start-up. A ``core.accounting_exports.Exporter(key, title,
    media_type, extension, subject, write)`` exports ``"invoices"`` or
    ``"organisations"``; ``write(session, selection, stream)`` writes the file to the
    binary ``stream`` and returns how many documents or organisations it holds. The
    ``selection`` has the period (``start``, ``end``) or chosen ``ids``, the ``actor``
    and the ``settings``; start from ``accounting_exports.documents(selection)`` or
    ``billed_organisations(selection)``, so that an export holds only what its user may
    see. Staff choose an exporter on the accounting exports page, integrators at
    ``/api/v1/exports/<key>``, operators with ``kartoteka billing export --format
    <key>``; each export is written to the audit trail. The core's own are
    ``core.invoices_csv``, ``core.invoices_json``, ``core.organisations_csv``,
    ``core.organisations_json`` and ``core.ksef_fa3``.

    Example::

        from core import accounting_exports as ax

        def cash_book(session, selection, stream):
            rows = ([i.number, i.gross] for i in session.scalars(ax.documents(selection)))
            return ax.write_csv(stream, ["number", "gross"], rows)

        @hookimpl
        def kartoteka_register_billing_exporters():
            return [ax.Exporter("visits.cash_book", _l("Cash book (CSV)"),
                                "text/csv; charset=utf-8", "csv", "invoices", cash_book)]

    :returns: a list of ``core.accounting_exports.Exporter``; keys start with the
        plugin's name.
    """


@hookspec
def kartoteka_register_price_lists():
    """Price lists whose items calculations take their prices from.

    Called once at start-up. A ``core.price_lists.PriceList(key, title, categories,
    permission)`` names the list, its categories of items and the permission of those
    who keep it (``core.manage_price_lists`` unless given). Staff keep its items at
    ``/price-lists/<key>/``, integrators at ``/api/v1/price-lists/<key>/items``; each
    calculation line may take an item's name, unit, net price and VAT rate
    (``core.calculations``).

    Example::

        from core.price_lists import PriceList

        @hookimpl
        def kartoteka_register_price_lists():
            return [PriceList("photovoltaics.components",
                              {"pl": "Komponenty", "en": "Components"},
                              {"panel": {"pl": "Panele", "en": "Panels"}})]

    :returns: a list of ``core.price_lists.PriceList``; keys start with the plugin's name.
    """


@hookspec
def kartoteka_register_blueprints():
    """Flask blueprints with the plugin's pages.

    Called once when the application is created. Name each blueprint after the plugin
    and mount it under ``/<plugin>``; a disabled plugin's pages are gone because its
    blueprints are never registered.

    :returns: a list of ``flask.Blueprint``.
    """


@hookspec
def kartoteka_register_portal_blueprints():
    """Flask blueprints with the plugin's pages in the portal (extranet).

    Called once when the application is created. Each is mounted under
    ``/portal/<plugin>`` (followed by its own ``url_prefix``) and answers only an
    organisation's portal accounts: anyone else gets 404, as on the core's portal pages.
    ``core.web.portal.current_organisation()`` and ``current_person()`` give the
    account's organisation and the person it stands for; read records through
    ``core.records.get(session, Model, id, current_user)`` so another organisation's
    ids answer 404. List the pages in the portal's menu with
    ``kartoteka_register_menu_items``.

    Example::

        bp = Blueprint("training_portal", __name__)

        @bp.get("/")
        def offers():
            organisation = current_organisation()
            ...

        @hookimpl
        def kartoteka_register_portal_blueprints():
            return [bp]  # served at /portal/training/

    :returns: a list of ``flask.Blueprint`` named after the plugin.
    """


@hookspec
def kartoteka_register_menu_items():
    """Entries of the main menu leading to the plugin's pages.

    Called once when the application is created, after the blueprints are registered;
    an entry whose page does not exist stops the start with the plugin named. Staff
    entries may need a permission; portal entries lead to pages of
    ``kartoteka_register_portal_blueprints`` and may be only for the organisation's
    administrator. Name an entry by a term to have renaming the term rename it.

    Example::

        from core.menu import MenuItem

        @hookimpl
        def kartoteka_register_menu_items():
            return [MenuItem("training.index", term="training.training",
                             permission="training.manage"),
                    MenuItem("training_portal.offers", area="portal",
                             label={"pl": "Szkolenia", "en": "Trainings"})]

    :returns: a list of ``core.menu.MenuItem``.
    """


@hookspec
def kartoteka_case_panels(session, case, viewer):
    """The plugin's own section on a case's card, below the case's figures: the crew
    that installs it, the trainings' participants, anything the plugin keeps about it.

    Called each time a staff member opens a case's card, inside the request. Return
    ``None`` for a case the plugin has nothing to say about (most often: another
    process's). What ``viewer`` may see is the plugin's to check; a failing
    implementation is logged and its section left out, so the card always opens.

    Example::

        from flask import render_template

        @hookimpl
        def kartoteka_case_panels(session, case, viewer):
            if case.process_key != "fleet.service":
                return None
            return render_template("fleet/_case_panel.html", vehicle=vehicle_of(case))

    :param session: the request's database session.
    :param case: the ``core.models.Case`` on the card.
    :param viewer: the staff member looking.
    :returns: HTML (``markupsafe.Markup``, or a string ``render_template`` returned),
        or ``None``.
    """


@hookspec
def kartoteka_record_panels(session, record, viewer):
    """The plugin's own section on an organisation's or a person's card, above the
    cases: a client's 360° view, a donor's giving, a member unit's trainings.

    Called, like ``kartoteka_case_panels``, each time a staff member opens the card,
    inside the request; return ``None`` when the plugin has nothing to say about the
    record. What ``viewer`` may see is the plugin's to check; a failing implementation
    is logged and its section left out, so the card always opens.

    Example::

        from flask import render_template

        @hookimpl
        def kartoteka_record_panels(session, record, viewer):
            if not isinstance(record, Organisation):
                return None
            return render_template("fleet/_owner_panel.html", vehicles=of_owner(record))

    :param session: the request's database session.
    :param record: the ``core.models.Organisation`` or ``core.models.Person`` on the card.
    :param viewer: the staff member looking.
    :returns: HTML (``markupsafe.Markup``, or a string ``render_template`` returned),
        or ``None``.
    """


@hookspec
def kartoteka_document_context(session, record, actor):
    """What the plugin adds to the data a document about ``record`` is filled with:
    the department and court of an inquiry, the crew of an installation.

    Called when a document is made or previewed, in the request or in a job. The
    answer is offered to templates under the plugin's name (``{{ expertise.court }}``),
    so that plugins never overwrite each other or the core's data. Give plain data
    (text, numbers, dates, lists and dicts of them), as the core does: templates are
    edited by administrators. Return ``None`` for a record the plugin has nothing about.

    Example::

        @hookimpl
        def kartoteka_document_context(session, record, actor):
            if getattr(record, "process_key", None) != "fleet.service":
                return None
            vehicle = vehicle_of(session, record)
            return {"plate": vehicle.plate, "model": vehicle.model}

    :param session: the database session.
    :param record: the organisation, person or case the document is about.
    :param actor: who makes it, or ``None`` (a job).
    :returns: a dict, or ``None``.
    """


@hookspec
def kartoteka_register_api_blueprints():
    """flask-smorest blueprints with the plugin's own resources in the REST API.

    Called once when the application is created. The core mounts them under
    ``/api/v1/<plugin>``: a blueprint with ``url_prefix="/vehicles"`` serves
    ``/api/v1/<plugin>/vehicles``. They are authenticated like the core's resources (an
    API token, or the staff session with its CSRF header), answer errors as
    problem+json, and their routes and schemas appear in the OpenAPI document with the
    plugin's name as their tag. A disabled plugin's routes answer 404 and are not in
    the document, because its blueprints are never registered.

    ``core.api.crud.blueprint(name, model, schema, permission=...)`` gives a record
    type's list (cursor pages, filters), create, read, update with ``If-Match`` and
    delete, through ``core.records`` and ``records.visible``; a route written by hand
    finds its caller with ``core.api.crud.caller()``.

    Example::

        from core.api import crud

        @hookimpl
        def kartoteka_register_api_blueprints():
            return [crud.blueprint("vehicles", Vehicle, VehicleSchema,
                                   permission="fleet.manage")]

    :returns: a list of ``flask_smorest.Blueprint``, each with a ``url_prefix``.
    """


@hookspec
def kartoteka_register_commands(cli):
    """Add subcommands to the ``kartoteka`` command.

    Called when the command line starts, for enabled plugins only. Add a group named
    after the plugin rather than many top-level commands.

    :param cli: the ``click.Group`` of the ``kartoteka`` command.
    :returns: nothing.
    """


# --------------------------------------------------------------------- maintenance


@hookspec
def kartoteka_load_demo_data(session):
    """Create realistic demo records for a first look at the plugin.

    Called by ``kartoteka demo`` and on the first ``make run``, for every enabled
    plugin, dependencies first, in one transaction per plugin. Must be idempotent:
    running it twice creates nothing new (look records up by a natural key first).
    Write through the core services so that events fire as for any other change.

    :param session: a ``sqlalchemy.orm.Session``; the core commits it.
    :returns: nothing.
    """


# --------------------------------------------------------------------- record events


@hookspec
def kartoteka_before_record_save(record, changes, actor, session):
    """A record is about to be created or changed: check it, or refuse the change.

    Called inside the transaction by the core's write path (``core.records``) before
    the record is flushed. Raise ``core.errors.ValidationError`` to refuse; nothing is
    written then. Keep it fast and free of outside I/O.

    :param record: the ORM object.
    :param changes: ``{attribute: (old, new)}``; for a new record every old is None.
    :param actor: the user making the change, or ``None`` for the system.
    :param session: the transaction's ``sqlalchemy.orm.Session``, to read related
        records with (a new record is not in it yet).
    :returns: nothing.
    """


@hookspec
def kartoteka_record_created(record, actor):
    """A record was created and the transaction committed.

    A notification only: each implementation is called on its own, and one that
    raises is logged without stopping the others. It is not called when the
    transaction rolls back.

    :param record: the ORM object (detached; read its loaded attributes only).
    :param actor: the user who made the change, or ``None``.
    :returns: nothing.
    """


@hookspec
def kartoteka_record_updated(record, changes, actor):
    """A record was changed and the transaction committed.

    Notification only, isolated per implementation like ``kartoteka_record_created``.

    :param record: the ORM object.
    :param changes: ``{attribute: (old, new)}`` of what changed. Rows the record owns
        appear as lists: ``emails``, ``phones``, ``addresses``, ``tags``,
        ``memberships``, ``attendees``; a merge gives ``merged`` / ``merged_into``.
    :param actor: the user who made the change, or ``None``.
    :returns: nothing.
    """


@hookspec
def kartoteka_record_deleted(record, actor):
    """A record was deleted and the transaction committed.

    Notification only, isolated per implementation like ``kartoteka_record_created``.

    :param record: the ORM object as it was before deletion.
    :param actor: the user who made the change, or ``None``.
    :returns: nothing.
    """


@hookspec
def kartoteka_form_submitted(form, submission, person):
    """Someone sent a public form (``core.public_forms``) and the transaction committed:
    a donor signed up, a participant registered, a household asked for an offer.

    Notification only, isolated per implementation like ``kartoteka_record_created``.
    Bots caught by the form's hidden field are not announced.

    :param form: the ``PublicForm`` (its ``key`` says which form it was).
    :param submission: the ``FormSubmission``: ``outcome`` is "created" (a new person)
        or "matched" (one known by the e-mail address given), ``data`` the answers by
        field name ("email", "custom.amount").
    :param person: the ``Person`` added or found.
    :returns: nothing.
    """


@hookspec
def kartoteka_case_moved(case, source, target, actor):
    """A case moved to another phase and the transaction committed.

    Notification only, isolated per implementation like ``kartoteka_record_created``.
    Work that must happen with the step itself belongs in the transition's
    ``actions`` instead.

    :param case: the ``core.models.Case``.
    :param source: the key of the phase it left.
    :param target: the key of the phase it entered.
    :param actor: the user who moved it, or ``None`` (a subprocess join, a job).
    :returns: nothing.
    """


@hookspec
def kartoteka_approval_decided(request, actor):
    """An approver approved or returned a request and the transaction committed.

    Notification only, isolated per implementation like ``kartoteka_record_created``.

    :param request: the ``core.models.ApprovalRequest``; ``status`` is ``approved`` or
        ``returned``, ``comment`` the approver's words.
    :param actor: the approver.
    :returns: nothing.
    """


@hookspec
def kartoteka_document_generated(document, actor):
    """A document was made from a template and the transaction committed.

    Notification only, isolated per implementation like ``kartoteka_record_created``.

    :param document: the ``core.models.Document``: ``number``, ``title``, the record
        it belongs to (``record_type``, ``record_id``) and its PDF (``attachment_id``).
    :param actor: the user who made it, or ``None``.
    :returns: nothing.
    """


# --------------------------------------------------------------------- billing


@hookspec
def kartoteka_invoice_issued(invoice, actor):
    """An invoice (or a correcting invoice, pro forma, settlement note) was issued and
    the transaction committed: hand it to the accounting program, e-mail it.

    Notification only, isolated per implementation like ``kartoteka_record_created``.
    Subscribed webhooks are told ``invoice.issued`` as well.

    :param invoice: the ``core.models.Invoice``: ``kind``, ``number``, ``issue_date``,
        ``due_date``, the buyer as issued (``buyer``), ``currency``, ``net``, ``vat``,
        ``gross``, ``vat_summary`` (per rate), ``to_pay``, its ``lines``; a correction
        names the invoice it corrects (``corrects_id``).
    :param actor: the user who issued it, or ``None``.
    :returns: nothing.
    """


@hookspec
def kartoteka_payment_recorded(payment, actor):
    """A payment was recorded (by hand, from a bank statement or an import) and the
    transaction committed. A payment recorded again with the same ``external_id`` is
    not new and is not told again.

    Notification only, isolated per implementation like ``kartoteka_record_created``.
    Subscribed webhooks are told ``payment.recorded`` as well.

    :param payment: the ``core.models.Payment``: ``received_on``, ``amount``,
        ``currency``, the payer (``organisation_id``/``person_id``, ``payer``),
        ``title``, ``source``, ``external_id``, its ``allocations`` to invoices and what
        is left (``unallocated``).
    :param actor: the user who recorded it, or ``None``.
    :returns: nothing.
    """


# --------------------------------------------------------------------- privacy


@hookspec
def kartoteka_before_anonymise(person, keep):
    """A person is about to be anonymised: keep what the law requires, or refuse.

    Called inside the transaction by ``core.privacy.anonymise`` before anything is
    erased. Add to ``keep`` the names of the personal data your records must still
    show (an invoice must keep its buyer's name and address for years): ``"name"``,
    ``"pesel"``, ``"emails"``, ``"phones"``, ``"addresses"``, ``"notes"``,
    ``"attachments"`` or ``"custom.<key>"``. What is kept stays on the person and in
    the audit trail; everything else is erased. Data in the plugin's own tables is the
    plugin's to erase here. Raise ``core.errors.ValidationError`` to refuse the
    anonymisation; nothing is written then.

    :param person: the ``core.models.Person``.
    :param keep: a ``set`` of names, shared by every implementation.
    :returns: nothing.
    """
