"""Teams of staff: tasks can be assigned to a team, and each team has a group calendar."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import permissions, records, validation
from core.errors import ValidationError
from core.models import Team, TeamMember, User
from core.validation import max_length


class TeamSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=max_length(100),
                         error_messages={"required": _l("Enter a name.")})


def create_team(session: Session, name: str, actor=None) -> Team:
    """A new team; names are unique regardless of letter case, so nobody picks the wrong one."""
    values = validation.load(TeamSchema(), {"name": name})
    values["name"] = values["name"].strip()
    if not values["name"]:
        raise ValidationError({"name": _("Enter a name.")})
    taken = select(Team.id).where(func.lower(Team.name) == values["name"].lower())
    if session.scalar(taken) is not None:
        raise ValidationError({"name": _("A team with this name already exists.")})
    return records.create(session, Team(name=values["name"]), actor)


def add_member(session: Session, team: Team, user: User, actor=None) -> TeamMember:
    """Make ``user`` a member of ``team``; adding a member again changes nothing."""
    existing = session.get(TeamMember, (team.id, user.id))
    if existing is not None:
        return existing
    return records.create(session, TeamMember(team_id=team.id, user_id=user.id), actor)


def remove_member(session: Session, team: Team, user: User, actor=None) -> None:
    """Take ``user`` out of ``team``; the team's tasks stay with the team."""
    existing = session.get(TeamMember, (team.id, user.id))
    if existing is not None:
        records.delete(session, existing, actor)


def team_ids_of(user: User) -> Select:
    """The ids of the teams ``user`` belongs to, as a subquery for other queries."""
    return select(TeamMember.team_id).where(TeamMember.user_id == user.id)


def member_ids_of(team: Team) -> Select:
    """The ids of the members of ``team``, as a subquery for other queries."""
    return select(TeamMember.user_id).where(TeamMember.team_id == team.id)


def members_of(session: Session, team: Team) -> list[User]:
    """The active members of ``team`` (those who can still take on work), by name."""
    query = (select(User).where(User.id.in_(member_ids_of(team)), User.active)
             .order_by(User.full_name, User.email))
    return list(session.scalars(query))


def teams_of(session: Session, user: User) -> list[Team]:
    """The teams ``user`` belongs to, by name."""
    query = select(Team).where(Team.id.in_(team_ids_of(user))).order_by(Team.name)
    return list(session.scalars(query))


def all_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def set_teams(session: Session, user: User, team_ids: list[int], actor=None) -> None:
    """Make ``user`` a member of exactly these teams; each change is audited."""
    wanted = set(team_ids)
    known = set(session.scalars(select(Team.id).where(Team.id.in_(wanted))))
    if known != wanted:
        raise ValidationError({"teams": _("Choose teams from the list.")})
    current = {team.id: team for team in teams_of(session, user)}
    for team_id in wanted - set(current):
        add_member(session, session.get(Team, team_id), user, actor)
    for team_id in set(current) - wanted:
        remove_member(session, current[team_id], user, actor)
    permissions.forget(user)
