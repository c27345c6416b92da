"""A process drawn from its definition: an SVG picture for the administrators' pages,
the documentation and the tests.

The phases stand in a row, in their order, each with a dashed line down from it; every
transition has a row of its own below them: an arrow from its source's line to its
target's, labelled with the checks, the approval rule and the permission it needs. A
row per transition means no two labels ever overlap, however many steps a process has.
Final phases are drawn with a double border and marked; phases that start subprocesses
say which, and where the case goes by itself once they are finished.

``svg`` is a pure function of the definition (and, optionally, the current settings
and the names of permissions and other processes): nothing is read from a database,
and every text put into the picture is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

from flask_babel import gettext as _
from markupsafe import escape

from core.workflow import Process, Transition, localised

COLUMN = 170  # distance between two phases' centres
BOX_WIDTH = 150
LINE = 15  # height of a line of text
MARGIN = 16
CHAR = 6.4  # the width of an average character at 12px, to size the picture
BOX_CHARS = 21  # characters of a phase name on one line of its box


def svg(process: Process, locale: str = "en", *, values: Mapping | None = None,
        processes: Mapping | None = None, permissions: Mapping | None = None) -> str:
    """The picture of ``process`` as an ``<svg>`` element, its texts in ``locale``.

    :param values: the process's settings (``workflow.settings``): deadlines are shown
        as set by administrators rather than the definition's defaults.
    :param processes: key -> Process, to name the subprocesses a phase starts.
    :param permissions: key -> Permission, to name the permissions steps need.
    """
    with _language(locale):
        return _draw(process, locale, values or {}, processes or {}, permissions or {})


@contextmanager
def _language(locale: str):
    """The interface texts in ``locale`` when there is an application to translate them."""
    from flask import has_app_context
    from flask_babel import force_locale

    if has_app_context():
        with force_locale(locale):
            yield
    else:
        yield


def _phase_name(process: Process, key: str, locale: str) -> str:
    from core.terms import term

    phase = process.phase(key)
    return term(phase.term, locale=locale) if phase else key


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` characters (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _phase_notes(process: Process, phase, locale: str, values: Mapping,
                 processes: Mapping) -> list[str]:
    notes = []
    if phase.final:
        notes.append(_("final"))
    days = values.get(f"deadline.{phase.key}", phase.deadline_days) if not phase.final else 0
    if days:
        notes.append(_("deadline: %(days)s days", days=days))
    for key in phase.starts:
        child = processes.get(key)
        notes.append(_("starts: %(what)s", what=_process_name(child, locale) if child else key))
    if phase.then:
        notes.append(_("then: %(phase)s", phase=_phase_name(process, phase.then, locale)))
    return notes


def _process_name(process: Process, locale: str) -> str:
    from core.terms import term

    return localised(process.title, locale) if process.title else term(process.term,
                                                                       locale=locale)


def _approval_text(process: Process, rule, locale: str) -> str:
    """An approval rule in a few words: who approves, and what decides it."""
    titles = {s.key: localised(s.title, locale) for s in process.settings}
    kind = type(rule).__name__
    if kind == "Threshold":
        who = " / ".join(_approver(a, locale) for _limit, a in rule.bands)
        return _("%(approval)s by amount (from “%(limit)s”): %(who)s", approval=_term(locale),
                 limit=titles.get(rule.free_below, rule.free_below), who=who)
    if kind == "Chain":
        steps = []
        for step in rule.steps_:
            text = _approver(step.approver, locale)
            if step.when is not None:
                setting = titles.get(step.when.setting, step.when.setting)
                text += " " + _("(when “%(setting)s”)", setting=setting)
            steps.append(text)
        return _("%(approval)s in turn: %(who)s", approval=_term(locale), who=", ".join(steps))
    return f"{_term(locale)}: {getattr(rule, 'key', kind)}"


def _term(locale: str) -> str:
    from core.terms import term

    return term("core.approval", locale=locale)


def _approver(approver, locale: str) -> str:
    if getattr(approver, "kind", None) == "supervisor":
        return _("the direct supervisor")
    return localised(getattr(approver, "title", None) or {}, locale) \
        or getattr(approver, "role", None) or str(approver)


def _transition_lines(process: Process, transition: Transition, locale: str,
                      permissions: Mapping, automatic: bool) -> list[str]:
    lines = []
    if transition.checks:
        names = [localised(c.title, locale) + (" " + _("(optional)") if c.optional else "")
                 for c in transition.checks]
        lines.append(_("checks: %(checks)s", checks="; ".join(names)))
    if transition.approval is not None:
        lines.append(_approval_text(process, transition.approval, locale))
    if transition.permission:
        found = permissions.get(transition.permission)
        name = found.label(locale) if found is not None and hasattr(found, "label") \
            else transition.permission
        lines.append(_("permission: %(name)s", name=name))
    if automatic:
        lines.append(_("by itself once every subprocess is finished"))
    return lines


def _draw(process: Process, locale: str, values: Mapping, processes: Mapping,
          permissions: Mapping) -> str:
    phases = list(process.phases)
    column = {p.key: i for i, p in enumerate(phases)}

    def centre(key: str) -> float:
        return MARGIN + COLUMN * column[key] + COLUMN / 2

    # The phases: a name of one or two lines, then the notes, in a box.
    boxes = []
    for phase in phases:
        name = _wrap(_phase_name(process, phase.key, locale), BOX_CHARS)
        notes = [line for note in _phase_notes(process, phase, locale, values, processes)
                 for line in _wrap(note, BOX_CHARS + 3)]
        boxes.append((phase, name, notes))
    box_height = max((len(n) + len(m)) * LINE + 16 for _p, n, m in boxes) if boxes else 0
    top = MARGIN + 22  # room for the title

    # The steps: the definition's transitions, and the moves made by a phase's "then".
    steps = [(t, False) for t in process.transitions]
    for phase in phases:
        if phase.then and phase.then in column:
            found = next((i for i, (t, _a) in enumerate(steps)
                          if t.source == phase.key and t.target == phase.then), None)
            if found is None:
                steps.append((Transition(phase.key, phase.then), True))
            else:
                steps[found] = (steps[found][0], True)
    rows, y, widest = [], top + box_height + 18, 0.0
    for transition, automatic in steps:
        if transition.source not in column or transition.target not in column:
            continue
        lines = _transition_lines(process, transition, locale, permissions, automatic)
        left = min(centre(transition.source), centre(transition.target))
        widest = max([widest] + [left + 8 + CHAR * len(line) for line in lines])
        rows.append((transition, lines, y))
        y += LINE * len(lines) + 26
    width = max(MARGIN * 2 + COLUMN * len(phases), widest + MARGIN)
    height = y + MARGIN

    title = _process_name(process, locale)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="process-diagram" role="img" '
           f'aria-labelledby="diagram-title" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'width="{width:.0f}" height="{height:.0f}" font-family="sans-serif" '
           f'font-size="12">',
           f'<title id="diagram-title">{escape(title)}</title>',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
           'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#333"/></marker></defs>',
           f'<text x="{MARGIN}" y="{MARGIN + 6}" font-size="14" font-weight="bold">'
           f'{escape(title)}</text>']
    for phase, name, notes in boxes:
        x = centre(phase.key) - BOX_WIDTH / 2
        css = "phase final" if phase.final else "phase"
        out.append(f'<g class="{css}" data-phase="{escape(phase.key)}">')
        out.append(f'<rect x="{x:.0f}" y="{top}" width="{BOX_WIDTH}" height="{box_height}" '
                   f'rx="6" fill="{"#eee" if phase.final else "#f4f8ff"}" stroke="#333" '
                   f'stroke-width="{3 if phase.final else 1}"/>')
        if phase.final:
            out.append(f'<rect x="{x + 4:.0f}" y="{top + 4}" width="{BOX_WIDTH - 8}" '
                       f'height="{box_height - 8}" rx="4" fill="none" stroke="#333"/>')
        line_y = top + 8 + LINE
        for text in name:
            out.append(f'<text x="{centre(phase.key):.0f}" y="{line_y}" text-anchor="middle" '
                       f'font-weight="bold">{escape(text)}</text>')
            line_y += LINE
        for text in notes:
            out.append(f'<text class="note" x="{centre(phase.key):.0f}" y="{line_y}" '
                       f'text-anchor="middle" font-size="11" fill="#555">{escape(text)}</text>')
            line_y += LINE
        out.append(f'<line x1="{centre(phase.key):.0f}" y1="{top + box_height}" '
                   f'x2="{centre(phase.key):.0f}" y2="{height - MARGIN:.0f}" stroke="#aaa" '
                   f'stroke-dasharray="4 4"/>')
        out.append("</g>")
    for transition, lines, row_y in rows:
        start, end = centre(transition.source), centre(transition.target)
        arrow_y = row_y + LINE * len(lines) + 6
        label = (f"{_phase_name(process, transition.source, locale)} → "
                 f"{_phase_name(process, transition.target, locale)}")
        out.append(f'<g class="transition" data-transition="{escape(transition.key)}">'
                   f'<title>{escape(label)}</title>')
        for i, text in enumerate(lines):
            out.append(f'<text x="{min(start, end) + 8:.0f}" y="{row_y + LINE * (i + 1) - 2}">'
                       f'{escape(text)}</text>')
        out.append(f'<line x1="{start:.0f}" y1="{arrow_y}" x2="{end:.0f}" y2="{arrow_y}" '
                   f'stroke="#333" stroke-width="1.5" marker-end="url(#arrow)"/>')
        out.append(f'<circle cx="{start:.0f}" cy="{arrow_y}" r="3" fill="#333"/></g>')
    out.append("</svg>")
    return "\n".join(out)
