"""Channels: adding, removing and listing them, loading them from the organisation file, and
finding the ones a message goes to. The engine changes and reads them; ``mktflow.notify``
sends through them.

Secrets stay in the environment: a channel names the variable (``secret_env``) and
``read_secret`` is the one place that looks it up, in a mapping the caller passes (the process
environment in production, a dict in tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from mktflow.domain.errors import BadInput, NotFound, Refused
from mktflow.domain.inputs import check_id
from mktflow.domain.organisation import ChannelSpec, channel_problems
from mktflow.engine.common import find_member
from mktflow.store.tables import Channel, ChannelSource, Department
from mktflow.store.uow import UnitOfWork

__all__ = [
    "add_channel",
    "channel_label",
    "channel_view",
    "department_channels",
    "list_channels",
    "member_channels",
    "read_secret",
    "remove_channel",
    "sync_channels",
]

#: Who changes channels from the command line (the CLI has no acting member for operators).
OPERATOR = "operator"


def read_secret(name: str | None, env: Mapping[str, str]) -> str | None:
    """The secret held by environment variable ``name`` (None if unnamed, unset or empty)."""
    if not name:
        return None
    return env.get(name) or None


def channel_label(c: Channel) -> str:
    """How a channel is named to people: ``channel 3 (marketing webhook)``."""
    owner = f"{c.department}/{c.member_email}" if c.member_email else c.department
    return f"channel {c.id} ({owner} {c.type})"


def channel_view(c: Channel, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A channel as people and scripts read it: the secret's variable name, never its value."""
    view: dict[str, Any] = {
        "id": c.id, "department": c.department, "member": c.member_email, "type": c.type,
        "url": c.url, "to": c.to_address, "secret_env": c.secret_env, "source": c.source,
    }
    if env is not None and c.secret_env:
        view["secret_set"] = read_secret(c.secret_env, env) is not None
    return view


def _key(c: Channel | ChannelSpec) -> tuple[Any, ...]:
    if isinstance(c, Channel):
        return (c.department, c.member_email, c.type, c.url, c.to_address, c.secret_env)
    member = c.member.lower() if c.member else None
    return (c.department, member, c.type, c.url, c.to, c.secret_env)


def _row(spec: ChannelSpec, source: str) -> Channel:
    return Channel(department=spec.department,
                   member_email=spec.member.lower() if spec.member else None, type=spec.type,
                   url=spec.url, to_address=spec.to, secret_env=spec.secret_env, source=source)


def _check_owner(session: Session, spec: ChannelSpec) -> None:
    if session.get(Department, spec.department) is None:
        raise NotFound(f"department: unknown department {spec.department!r}")
    if spec.member:
        member = find_member(session, spec.member)
        if member is None or not member.active:
            raise NotFound(f"member: no active member with e-mail {spec.member!r}")
        if member.department != spec.department:
            raise BadInput(f"member: {member.email} is in {member.department}, "
                           f"not {spec.department}")


def add_channel(uow: UnitOfWork, spec: ChannelSpec, *, actor_email: str = OPERATOR) -> Channel:
    """Add a channel a department (or one member) is told through; refuses an exact duplicate."""
    problems = channel_problems(spec)
    if problems:
        raise BadInput("; ".join(problems))
    with uow:
        _check_owner(uow.session, spec)
        for existing in uow.session.exec(select(Channel)):
            if _key(existing) == _key(spec):
                raise Refused(f"{channel_label(existing)} already sends there")
        channel = _row(spec, ChannelSource.CLI)
        uow.session.add(channel)
        uow.session.flush()
        assert channel.id is not None
        uow.audit(actor=actor_email, entity_type="channel", entity_id=channel.id,
                  action="add", data=channel_view(channel))
        uow.commit()
        return channel


def remove_channel(uow: UnitOfWork, channel_id: int, *, actor_email: str = OPERATOR) -> Channel:
    """Remove a channel added from the CLI; messages still queued for it will be skipped."""
    check_id(channel_id, f"channel {channel_id}")
    with uow:
        channel = uow.session.get(Channel, channel_id, with_for_update=True)
        if channel is None:
            raise NotFound(f"channel {channel_id} does not exist")
        if channel.source == ChannelSource.ORGANISATION:
            raise Refused(f"{channel_label(channel)} comes from the organisation file: remove it "
                          "there and load the file again")
        uow.audit(actor=actor_email, entity_type="channel", entity_id=channel_id,
                  action="remove", data=channel_view(channel))
        uow.session.delete(channel)
        uow.commit()
        return channel


def list_channels(
    uow: UnitOfWork, *, env: Mapping[str, str], department: str | None = None
) -> list[dict[str, Any]]:
    """Every channel (or a department's), with whether its secret is set in ``env``."""
    with uow:
        query = select(Channel).order_by(col(Channel.department), col(Channel.id))
        if department:
            query = query.where(col(Channel.department) == department)
        return [channel_view(c, env) for c in uow.session.exec(query)]


def sync_channels(uow: UnitOfWork, specs: list[ChannelSpec]) -> tuple[list[str], list[str]]:
    """Make the organisation file's channels exactly those listed; CLI channels stay.

    Runs inside the caller's unit of work (the organisation load). Returns labels of the
    channels added and removed.
    """
    existing = list(uow.session.exec(
        select(Channel).where(col(Channel.source) == ChannelSource.ORGANISATION)))
    wanted = {_key(s): s for s in specs}
    kept = {_key(c) for c in existing if _key(c) in wanted}
    removed = []
    for c in existing:
        if _key(c) not in wanted:
            removed.append(channel_label(c))
            uow.session.delete(c)
    added = []
    for key, spec in wanted.items():
        if key not in kept:
            channel = _row(spec, ChannelSource.ORGANISATION)
            uow.session.add(channel)
            uow.session.flush()
            added.append(channel_label(channel))
    return added, removed


def department_channels(session: Session, department: str) -> list[Channel]:
    """The channels of a department as a whole (not those of its members)."""
    return list(session.exec(select(Channel).where(
        col(Channel.department) == department, col(Channel.member_email).is_(None)
    ).order_by(col(Channel.id))))


def member_channels(session: Session, emails: list[str]) -> list[Channel]:
    """The personal channels of these members."""
    if not emails:
        return []
    return list(session.exec(select(Channel).where(
        col(Channel.member_email).in_(emails)
    ).order_by(col(Channel.id))))
