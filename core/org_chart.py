"""The staff organisation chart: every staff account under the one it answers to.

The chart follows ``User.supervisor_id``. Saving refuses a circle and a supervisor who
is not staff (core.users.set_supervisor), but the chart holds up whatever the rows say
(an older row, a change made straight in the database): an account whose supervisor is
not a staff account stands at the top, and a circle is cut where it is first met and
marked, so that every account is shown once and the walk always ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Role, Team, TeamMember, User, UserRole


@dataclass(eq=False)  # compared by identity: the rows may hold a circle
class Node:
    user: User
    roles: list[str]
    teams: list[str]
    children: list[Node] = field(default_factory=list)
    in_circle: bool = False  # its supervisors lead round back to it
    outside: bool = False  # it answers to an account that is not staff


def chart(session: Session) -> list[Node]:
    """The tops of the chart (accounts that answer to nobody), each with those under it,
    in order of name at every level."""
    accounts = session.scalars(
        select(User).where(User.kind == "staff").order_by(User.full_name, User.email, User.id)
    ).all()
    roles = _names(
        session,
        select(UserRole.user_id, Role.name)
        .join(Role, Role.id == UserRole.role_id)
        .order_by(Role.name),
    )
    teams = _names(
        session,
        select(TeamMember.user_id, Team.name)
        .join(Team, Team.id == TeamMember.team_id)
        .order_by(Team.name),
    )
    nodes = {u.id: Node(u, roles.get(u.id, []), teams.get(u.id, [])) for u in accounts}
    tops = []
    for node in nodes.values():
        above = nodes.get(node.user.supervisor_id)
        if above is None:
            node.outside = node.user.supervisor_id is not None
            tops.append(node)
        else:
            above.children.append(node)
    reached = _under(tops)
    for node in nodes.values():
        if node.user.id not in reached:  # only a circle keeps an account from the top
            cut = _circle(nodes, node)
            nodes[cut.user.supervisor_id].children.remove(cut)
            tops.append(cut)
            reached |= _under([cut])
    return tops


def _names(session: Session, query) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for user_id, name in session.execute(query):
        found.setdefault(user_id, []).append(name)
    return found


def _under(tops: list[Node]) -> set[int]:
    """The ids of these nodes and all under them."""
    seen, waiting = set(), list(tops)
    while waiting:
        node = waiting.pop()
        seen.add(node.user.id)
        waiting.extend(n for n in node.children if n.user.id not in seen)
    return seen


def _circle(nodes: dict[int, Node], start: Node) -> Node:
    """Climbs from ``start`` to the circle above it, marks the circle's accounts and
    returns the first of them met, where the chart cuts it."""
    met, at = set(), start
    while at.user.id not in met:
        met.add(at.user.id)
        at = nodes[at.user.supervisor_id]
    first = at
    while not at.in_circle:
        at.in_circle = True
        at = nodes[at.user.supervisor_id]
    return first
