"""The catalogues' upkeep: every message of the sources, and what a catalogue lacks.

``python -m mktflow.i18n.catalog`` (``make messages``) extracts the messages of the package
(Python: ``_``, ``gettext``, ``N_``, the pages' ``v.t`` and the texts processes write,
``phrase``, in the package and in ``flows/``; the templates through ``jinja2.ext.i18n``) and
those of
the rule tables (each action's past tense, the bulk actions), writes
``mktflow/i18n/messages.pot`` and merges it into each language's ``messages.po``: a new
message arrives empty, a changed one fuzzy, until someone translates it. ``problems(code)``
lists what a catalogue still lacks; the unit tests fail on any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from mktflow.domain.complaints import COMPLAINT_RULES, StepKind
from mktflow.domain.desk import BULK_ACTIONS
from mktflow.domain.leads import LEAD_RULES, LeadState
from mktflow.domain.model import (
    ATTACH_RULE,
    CREATION_RULES,
    END_RULE,
    HANDOFF_RULES,
    READ_RULES,
    WORK_RULES,
    Party,
    ProcessStatus,
    Role,
)
from mktflow.domain.orders import Standing
from mktflow.domain.products import GATES
from mktflow.i18n import DEFAULT, LANGUAGES, LOCALE_DIR

__all__ = ["POT", "catalogue_path", "extract", "main", "placeholders", "problems"]

PACKAGE = Path(__file__).resolve().parents[1]
#: The template every catalogue is merged from.
POT = Path(__file__).parent / "messages.pot"
_METHODS = [("web/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
_OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n",
                                      "newstyle_gettext": "true", "trimmed": "false"}}
#: Texts shown through a variable (``_(bulk.action)``), which extraction cannot see.
_SHOWN_BY_NAME = ("change due or priority", "assign / reassign", "daily", "weekly", "monthly")
#: The kinds of item a refusal names (``engine.transitions``: ``work item W-3``).
_KINDS = ("work item", "handoff", "responsibility letter")
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")


def catalogue_path(code: str) -> Path:
    """Where language ``code``'s catalogue is."""
    return LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    """Every message of the sources and the rule tables, as a template catalogue."""
    found = Catalog(project="mktflow", version="0.1.0", charset="utf-8", fuzzy=False)
    keywords = {**DEFAULT_KEYWORDS, "t": None, "phrase": None, "word": None}
    for root, methods in ((PACKAGE, _METHODS), (PACKAGE.parent / "flows", _METHODS[1:])):
        for path, line, message, comments, _ in extract_from_dir(
                str(root), method_map=methods, options_map=_OPTIONS, keywords=keywords,
                strip_comment_tags=True):
            if isinstance(message, str) and message:
                found.add(message, locations=[(f"{root.name}/{path}", line)],
                          auto_comments=comments)
    rules = (*WORK_RULES, *HANDOFF_RULES, END_RULE)
    named = (*rules, *CREATION_RULES, ATTACH_RULE, *LEAD_RULES)
    tables = [*(r.past for r in rules if r.past), *BULK_ACTIONS, *_SHOWN_BY_NAME,
              # the words a refusal of the state machine names (``domain.words.word``)
              *(r.action for r in named), *sorted({s for r in rules for s in r.sources}),
              *ProcessStatus, *_KINDS,
              # who may, why, and the refusals of the write and read tables (``domain.actors``)
              *Party, *Role, *(r.refusal for r in named if r.refusal),
              *(r.why for r in READ_RULES),
              # the words the processes' texts name: lead states, standings, steps, gates
              *LeadState, *Standing, *StepKind, *GATES,
              *(r.action.replace("_", " ") for r in COMPLAINT_RULES)]
    for text in tables:
        if text not in found:
            found.add(text, locations=[("mktflow/domain/model.py", 0)])
    for text in form_texts():
        if text not in found:
            found.add(text, locations=[("flows/", 0)], auto_comments=["a step form's text"])
    return found


def form_texts() -> list[str]:
    """Every text the step forms show of their own (labels, row words, hints, choices) and
    their names as headings: the processes' forms (each ``StepForm`` of the flows and the
    approvals), the cycles' and the work reports' forms."""
    import importlib
    import pkgutil

    import flows
    from mktflow.engine import reviews, work_reports
    from mktflow.prefect import approvals  # noqa: F401 (defines ApprovalForm)
    from mktflow.prefect.steps import StepForm
    from mktflow.prefect.tasks.cycles import ResearchFindings
    from mktflow.web import forms as F
    from mktflow.web._render import _words

    for module in pkgutil.iter_modules(flows.__path__):
        importlib.import_module(f"flows.{module.name}")
    classes: list[type] = [ResearchFindings]
    todo: list[type] = [StepForm]
    while todo:
        subclasses: list[type] = todo.pop().__subclasses__()
        for sub in subclasses:  # the package's own forms (not a test's)
            if sub.__module__.split(".")[0] in ("flows", "mktflow"):
                classes.append(sub)
            todo.append(sub)
    schemas = [c.model_json_schema() for c in classes]  # type: ignore[attr-defined]
    schemas += [reviews.EXPLANATION_FORM, reviews.APPRAISAL_FORM, reviews.DECISION_FORM,
                reviews.PLAN_ITEMS_FORM, work_reports.READ_FORM, dict(work_reports.REPORT_FORM)]
    texts = [_words(c.__name__) for c in classes]
    texts += [_words(work_reports.REPORT_FORM_NAME), _words("ReportRead")]
    for schema in schemas:
        texts += F.texts_of(schema)
    return list(dict.fromkeys(t for t in texts if t))


def placeholders(text: str) -> list[str]:
    """The named placeholders of ``text`` (``%(name)s``, ``{name}``), sorted."""
    return sorted(_PLACEHOLDER.findall(text))


def _read(code: str) -> Catalog:
    with catalogue_path(code).open("rb") as source:
        return read_po(source, locale=code)


def problems(code: str, template: Catalog | None = None) -> list[str]:
    """What catalogue ``code`` lacks: a message of the sources it has not, or has empty or
    fuzzy, or whose translation's placeholders differ from the message's; [] when none."""
    template = template or extract()
    catalogue = _read(code)
    found = []
    for message in template:
        if not message.id:
            continue
        msgid = str(message.id)
        entry = catalogue.get(msgid)
        if entry is None:
            found.append(f"{code}: no translation of {msgid!r}")
        elif not entry.string:
            found.append(f"{code}: empty translation of {msgid!r}")
        elif entry.fuzzy:
            found.append(f"{code}: fuzzy translation of {msgid!r}")
        elif placeholders(str(entry.string)) != placeholders(msgid):
            found.append(f"{code}: {msgid!r} and {entry.string!r} differ in placeholders")
    return found


def main() -> int:
    """Write ``messages.pot`` and merge it into every catalogue; print what each lacks."""
    template = extract()
    with POT.open("wb") as out:
        write_po(out, template, omit_header=False, sort_output=True, width=100)
    for code in LANGUAGES:
        if code == DEFAULT:
            continue
        path = catalogue_path(code)
        if path.exists():
            catalogue = _read(code)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalogue = Catalog(locale=code, project="mktflow", charset="utf-8")
        catalogue.update(template, no_fuzzy_matching=True)
        catalogue.project, catalogue.version, catalogue.fuzzy = "mktflow", "0.1.0", False
        with path.open("wb") as out:
            write_po(out, catalogue, ignore_obsolete=True, sort_output=True, width=100)
        for line in problems(code, template):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
