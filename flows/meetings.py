"""Planning meetings with minutes (quarterly and annual): the marketing meeting that fixes the
work plan, its minutes approved by the head and sent to management and the departments named,
each decision made work for its owner and tracked to done.

Source: seed 001, 市场部管理制度 五、工作流程 1.(1) A: "召开市场营销会议,确定年度、季度工作计划,
并将会议纪要发送给公司领导和其他有关部门". Rules: ``mktflow.domain.meetings``; handlers:
``mktflow.engine.meetings``.

Two flows on their own schedules (``deployments/catalog.py``): ``quarterly-meeting`` (early in
each quarter, for that quarter) and ``annual-meeting`` (mid-December, for next year). Unlike the
other cycles, a meeting's run waits for people, step after step (suspended in a deployment run,
holding nothing):

1. the agenda: the marketing head's step, pre-filled with the period's plan items and the open
   decisions of earlier meetings;
2. the minutes: marketing's step (held on, attendees, summary, decisions: text, owner, due
   date, departments concerned), refused at every door if a decision breaks a rule;
3. the head's approval (approve, or revise: the minutes step again, pre-filled);
4. sent: management and every department named get an item to read (told through the outbox);
   each decision becomes a work item in its owner's hands (marketing) or a handoff from
   marketing to the owner's department. The minutes are the run's artifact.

The agenda and the minutes decide nothing, so the Prefect UI's resume form answers them too
(the member's e-mail typed); the approval decides, so it is answered where mktflow knows who
acts (``mktflow work complete``, the API, the step's page). Decisions still open when the run
ends are carried to the next meeting's agenda.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field

from mktflow.domain.meetings import (
    DECISIONS_MAX,
    MARKETING,
    TEXT_MAX,
    meeting_kind,
    meeting_name,
)
from mktflow.domain.words import Phrase, joined, phrase
from mktflow.prefect import tasks
from mktflow.prefect.cycles import (
    begin_cycle,
    cycle_failed,
    default_period,
    finish_cycle,
    markdown_table,
    publish_markdown,
    publish_table,
)
from mktflow.prefect.steps import StepForm, human_step
from mktflow.prefect.tasks.meetings import (
    agenda_draft,
    marketing_head,
    open_meeting,
    record_agenda,
    record_approval,
    record_minutes,
    send_minutes,
)


class MeetingAgenda(StepForm):
    """The marketing head's agenda for the meeting."""

    agenda: str = Field(min_length=1, max_length=20_000, description=(
        "What the meeting is to decide; pre-filled with the period's plan items and the open "
        "decisions of earlier meetings."))


class DecisionEntry(BaseModel):
    """One decision: what, who owns it, by when, which departments it concerns."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=TEXT_MAX, description="What was decided.")
    owner: str = Field(min_length=3, max_length=320,
                       description="E-mail of the member who owns it.")
    due: date = Field(description="The day it is due (on or after the meeting).")
    departments: list[str] = Field(default_factory=list, description=(
        "Codes of the departments it concerns (the owner's is added); the minutes are sent "
        "to them and to management."))


class MeetingMinutes(StepForm):
    """The minutes of the meeting: when, who, what was said, what was decided."""

    held_on: date = Field(description="The day the meeting was held.")
    attendees: str = Field(default="", max_length=4000)
    summary: str = Field(default="", max_length=20_000)
    decisions: list[DecisionEntry] = Field(min_length=1, max_length=DECISIONS_MAX)


class MinutesApproval(StepForm):
    """The marketing head approves the minutes, or sends them back to be revised."""

    decision: Literal["approve", "revise"]
    comment: str = Field(default="", max_length=2000, description="What to revise.")


def _minutes(meeting: dict[str, Any]) -> str:
    decisions = meeting["decisions"]
    return "\n\n".join([
        f"# Minutes of the {meeting['kind']} marketing meeting {meeting['period']} "
        f"({meeting['ref']})",
        f"**Held on:** {meeting['held_on']}. **Attendees:** {meeting['attendees'] or '-'}. "
        f"**Approved by:** {meeting['approved_by']}. **Sent to:** "
        f"{', '.join(meeting['sent_to'])}.",
        "## Agenda\n\n" + (meeting["agenda"] or "_none_"),
        "## Summary\n\n" + (meeting["summary"] or "_none_"),
        f"## Decisions ({len(decisions)})\n\n" + markdown_table(
            [{**d, "departments": ", ".join(d["departments"])} for d in decisions],
            ["number", "text", "owner", "due", "departments", "work", "state"]),
    ])


def _meeting(cycle: str, period: str) -> dict[str, Any]:
    kind = meeting_kind(period).value
    run = begin_cycle(cycle, period)
    meeting = open_meeting(period, run.process_id)
    assert run.process_id is not None
    pid, mid, name = run.process_id, meeting["id"], meeting_name(kind, period)
    head = marketing_head()
    agenda = human_step(
        pid, "agenda", department=MARKETING, assignee=head, form=MeetingAgenda,
        title=phrase("Agenda of the %(meeting)s (%(ref)s)", meeting=name, ref=meeting["ref"]),
        initial={"agenda": agenda_draft(period)},
        description=phrase("Prepare the agenda of the meeting that fixes the work plan (seed 001, "
                           "市场营销部 工作流程 1.(1) A)."))
    record_agenda(mid, agenda.item_id)
    draft: dict[str, Any] | None = None
    note: Phrase | None = None
    attempt = 1
    while True:
        minutes = human_step(
            pid, f"minutes-{attempt}", department=MARKETING, form=MeetingMinutes,
            title=phrase("Minutes of the %(meeting)s (%(ref)s)", meeting=name,
                         ref=meeting["ref"]), initial=draft,
            description=note or phrase("Record the minutes: each decision with its owner, due "
                                       "date and the departments it concerns."))
        draft = minutes.form.model_dump(mode="json")
        problems = tasks.answer_problems(pid, minutes.item_id, "MeetingMinutes", draft)
        if problems:  # the second line: the organisation changed since the answer
            note = phrase("The minutes were sent back: %(problems)s",
                          problems=joined(problems))
            tasks.comment(minutes.item_id, note, reason=joined(problems))
            attempt += 1
            continue
        record_minutes(mid, minutes.item_id)
        approval = human_step(
            pid, f"approval-{attempt}", department=MARKETING, assignee=head,
            form=MinutesApproval, title=phrase("Approve the minutes of the %(meeting)s (%(ref)s)",
                                               meeting=name, ref=meeting["ref"]),
            description=phrase("Approve the minutes recorded by %(member)s (%(ref)s) to send "
                               "them to management and the departments named, or send them "
                               "back.", member=minutes.by, ref=minutes.ref))
        record_approval(mid, approval.item_id)
        if approval.form.decision == "approve":
            break
        note = phrase("Revise the minutes, asked by %(member)s: %(comment)s", member=approval.by,
                      comment=approval.form.comment or "-")
        attempt += 1
    sent = send_minutes(mid)
    shown = sent["meeting"]
    publish_markdown(cycle, "minutes", _minutes(shown), f"Minutes {period}")
    publish_table(cycle, "decisions", [{**d, "departments": ", ".join(d["departments"])}
                                       for d in shown["decisions"]], f"Decisions {period}")
    carry = [{"meeting": shown["ref"], "number": d["number"], "work": d["work"],
              "period": period} for d in shown["decisions"] if d["state"] != "done"]
    summary = {"period": period, "meeting": shown["ref"], "decisions": len(shown["decisions"]),
               "sent_to": sent["sent_to"], "read": sent["read"],
               "work": [d["work"] for d in sent["decisions"]],
               "skipped_periods": run.skipped_periods}
    finish_cycle(run.id, carry, summary)
    return summary


@flow(name="quarterly-meeting", persist_result=True, log_prints=True,
      on_failure=[cycle_failed], on_crashed=[cycle_failed])
def quarterly_meeting(period: str | None = None) -> dict[str, Any]:
    """Early in each quarter: the meeting fixing the quarter's work plan (``2027-Q1``)."""
    return _meeting("quarterly-meeting", period or default_period("quarterly-meeting"))


@flow(name="annual-meeting", persist_result=True, log_prints=True,
      on_failure=[cycle_failed], on_crashed=[cycle_failed])
def annual_meeting(period: str | None = None) -> dict[str, Any]:
    """Mid-December: the meeting fixing next year's work plan (``2027``)."""
    return _meeting("annual-meeting", period or default_period("annual-meeting", ahead=True))
