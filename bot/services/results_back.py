"""Results back to the people who took part: the results of a closed campaign or session,
small cells suppressed, as a short text and charts in each person's language.

One use case for the chat (/results) and the CLI (`backbone results send`): `prepare` makes a
draft and its preview; `confirm` plans one message per person in the outbox
(storage/results_back.py); the results sender delivers them (quiet hours, rate limits). Free
text is never sent; only closed questions (choices, yes/no, scales) and poll results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import Translator
from bot.services import small_cells
from bot.services.charts import results_png
from bot.services.poll_views import results, spec_of
from bot.services.small_cells import Table, suppress
from flows.model import Flow, StepType
from flows.words import word
from storage import campaigns as campaign_queries
from storage import polls as poll_queries
from storage import results_back as queries
from storage.models_results import ResultSend
from storage.repo import Repo
from storage.statuses import CampaignStatus, SessionStatus

CLOSED_CAMPAIGN = (CampaignStatus.FINISHED, CampaignStatus.CANCELLED)
CLOSED_TYPES = (StepType.SINGLE_CHOICE, StepType.MULTIPLE_CHOICE, StepType.YES_NO, StepType.SCALE)
MAX_CHARTS = 10  # charts per person and sending (one per question)
MAX_INTRO = 1000
DEFAULT_QUIET = ("20:00", "08:00")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class Refused(Exception):
    """A request this use case refuses; `reason` is a key of `refusal_text`."""

    def __init__(self, reason: str, **values) -> None:
        super().__init__(reason)
        self.reason, self.values = reason, values


@dataclass(frozen=True)
class Source:
    """What results are sent: a closed campaign or a closed session."""

    campaign_id: int | None = None
    session_code: str | None = None


@dataclass(frozen=True)
class Preview:
    """A draft sending and what staff see before they confirm it."""

    send_id: int
    title: str
    people: int
    reach: queries.Reach
    sent_before: int
    sample: str  # the message as a person in the staff member's language gets it


async def _source_rows(repo: Repo, source: Source):
    """(campaign, session) of `source`, refused when unknown or still running."""
    if source.campaign_id is not None:
        campaign = await campaign_queries.campaign(repo, source.campaign_id)
        if campaign is None:
            raise Refused("no_campaign", id=source.campaign_id)
        if campaign.status not in CLOSED_CAMPAIGN:
            raise Refused("campaign_open", id=campaign.id, status=str(campaign.status))
        return campaign, None
    code = (source.session_code or "").strip().upper()
    session = await poll_queries.session_by_code(repo, code) if code else None
    if session is None:
        raise Refused("no_session", code=code[:12])
    if session.status != SessionStatus.CLOSED:
        raise Refused("session_open", code=session.code)
    return None, session


async def _people(repo: Repo, campaign, session) -> list[int]:
    if campaign is not None:
        return await queries.campaign_people(repo, campaign.id)
    return await queries.session_people(repo, session.id)


async def prepare(
    repo: Repo,
    catalog,
    source: Source,
    *,
    actor: str,
    t: Translator,
    k: int,
    message: str | None = None,
    again: bool = False,
    chat_id: int | None = None,
) -> Preview:
    """A draft sending of `source` and its preview; Refused (nothing stored) when it may not
    be sent: unknown, not closed, sent before (without `again`), nobody to reach."""
    campaign, session = await _source_rows(repo, source)
    key = {"campaign_id": campaign.id} if campaign else {"session_id": session.id}
    before = await queries.confirmed_before(repo, **key)
    if before and not again:
        raise Refused("sent_before", n=before)
    intro = (message or "").strip() or None
    if intro is not None and len(intro) > MAX_INTRO:
        raise Refused("intro_too_long", max=MAX_INTRO)
    people = await _people(repo, campaign, session)
    reach = await queries.reach(repo, people)
    if not reach.reachable:
        raise Refused("nobody", n=len(people))
    quiet = (campaign.quiet_start, campaign.quiet_end) if campaign else DEFAULT_QUIET
    row = await queries.add_send(
        repo,
        **key,
        message=intro,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        created_by=actor,
        chat_id=chat_id,
    )
    title, items = await tables(repo, catalog, row, t.locale, t, k)
    return Preview(row.id, title, len(people), reach, before, message_text(title, intro, items, t))


async def confirm(repo: Repo, send_id: int, actor: str, now: datetime, again: bool) -> int:
    """Plan one results message per person who took part; returns how many. Refused when the
    draft is gone or was confirmed already, or the results were sent meanwhile."""
    row = await queries.send(repo, send_id)
    if row is None or row.confirmed_at is not None:
        raise Refused("stale")
    key = {"campaign_id": row.campaign_id} if row.campaign_id else {"session_id": row.session_id}
    if await queries.confirmed_before(repo, **key) and not again:
        raise Refused("sent_before", n=1)
    campaign, session = await _rows_of(repo, row)
    people = await _people(repo, campaign, session)
    planned = await queries.confirm(repo, row, people, now)
    details = {"send": row.id, "people": planned, "again": bool(again)}
    details |= {"campaign": row.campaign_id} if row.campaign_id else {"session": session.code}
    await repo.audit(actor, "results_sent", details)
    return planned


async def _rows_of(repo: Repo, row: ResultSend):
    if row.campaign_id is not None:
        return await campaign_queries.campaign(repo, row.campaign_id), None
    return None, await poll_queries.poll_session(repo, row.session_id)


# --- what is sent ------------------------------------------------------------------------
def _question(flow: Flow, key: str, locale: str) -> str:
    # Placeholders ({first_name}, an earlier answer) name one person: never in results.
    return " ".join(_PLACEHOLDER.sub("…", flow.text(key, locale)).split())


def _campaign_tables(flow: Flow, answers: list[dict], locale: str, k: int):
    """(question, Table) of each closed question of the flow."""
    out = []
    for step in flow.steps:
        if step.type not in CLOSED_TYPES:
            continue
        given = [a[step.id] for a in answers if a.get(step.id) is not None]
        if step.type == StepType.YES_NO:
            codes = {"yes": word("yes", locale), "no": word("no", locale)}
        elif step.type == StepType.SCALE:
            codes = {str(n): str(n) for n in range(int(step.min or 0), int(step.max or 0) + 1)}
        else:
            codes = {c: flow.text(f"{step.id}.option.{c}", locale) for c in step.options}
        counts = dict.fromkeys(codes, 0)
        for value in given:
            for item in value if isinstance(value, list) else [value]:
                if str(item) in counts:
                    counts[str(item)] += 1
        rows = [(label, counts[c]) for c, label in codes.items()]
        multiple = step.type == StepType.MULTIPLE_CHOICE
        table = suppress(rows, len(given), k, exclusive=not multiple)
        out.append((_question(flow, f"{step.id}.text", locale), table))
    return out


async def tables(repo: Repo, catalog, row: ResultSend, locale: str, t: Translator, k: int):
    """(title, [(question, suppressed table)]) of a sending, in `locale`."""
    if row.campaign_id is not None:
        campaign = await campaign_queries.campaign(repo, row.campaign_id)
        flow = catalog.get(campaign.flow_id)
        if flow is None:
            return campaign.flow_id, []
        answers = await queries.campaign_answers(repo, campaign.id)
        return flow.text("title", locale), _campaign_tables(flow, answers, locale, k)
    session = await poll_queries.poll_session(repo, row.session_id)
    out = []
    for poll in await queries.closed_polls(repo, session.id):
        spec = spec_of(poll)
        out.append((spec.question, poll_table(spec, await results(repo, poll), k)))
    return session.title, out


def poll_table(spec, res, k: int) -> Table:
    """A poll's results (poll_views.Results) with small cells suppressed."""
    kind = str(spec.type)
    exclusive = kind not in ("multiple_choice", "words")
    return suppress(res.rows, res.voters, k, exclusive=exclusive, words=kind == "words")


def public_poll_text(spec, res, t: Translator, k: int) -> str:
    """A closed poll's final result as participants see it (`--show-results`), suppressed."""
    table = poll_table(spec, res, k)
    lines = [f"🏁 {spec.question}", ""]
    lines += [f"{c.label}: {small_cells.count_text(table, c, t)}" for c in table.cells]
    note = small_cells.dropped_text(table, t)
    lines += [note] if note else []
    lines += ["", small_cells.answered_text(table, t) + " · " + t.gettext("closed")]
    return "\n".join(lines)[:4096]


def message_text(title: str, intro: str | None, items: list[tuple[str, Table]], t) -> str:
    """The results message: heading, staff intro, each question's suppressed counts."""
    lines = [t.gettext("📊 Results: “{title}”").format(title=title)]
    if intro:
        lines += ["", intro]
    for question, table in items:
        lines += ["", f"❓ {question}"]
        lines += [f"{cell.label}: {small_cells.count_text(table, cell, t)}" for cell in table.cells]
        note = small_cells.dropped_text(table, t)
        lines += [note] if note else []
        lines.append(f"({small_cells.answered_text(table, t)})")
    if not items:
        lines += ["", t.gettext("There were no questions with results to show.")]
    lines += [
        "",
        t.gettext(
            "Answers of fewer than {k} people are not shown, so that nobody can be recognised."
        ).format(k=items[0][1].k if items else small_cells.DEFAULT_MIN_CELL_SIZE),
        t.gettext("Thank you for taking part!"),
    ]
    return "\n".join(lines)[:4096]


def charts(items: list[tuple[str, Table]], t: Translator) -> list[tuple[bytes, str]]:
    """One PNG chart per question (hidden cells get no bar), with its caption."""
    out = []
    for question, table in items[:MAX_CHARTS]:
        if not table.cells:
            continue
        caption = small_cells.answered_text(table, t)
        png = results_png(
            question,
            small_cells.chart_rows(table),
            table.scale,
            caption,
            values=small_cells.chart_values(table, t),
        )
        out.append((png, question[:1024]))
    return out


def refusal_text(error: Refused, t: Translator) -> str:
    """A refusal in the reader's language."""
    texts = {
        "no_campaign": t.gettext("There is no campaign {id}."),
        "campaign_open": t.gettext(
            "Campaign {id} is {status}: results can be sent only when it is over."
        ),
        "no_session": t.gettext("There is no session with the code {code}."),
        "session_open": t.gettext(
            "Session {code} is still open: end it first (/session end), then send its results."
        ),
        "sent_before": t.gettext(
            "These results were sent before. To send them again, add --again."
        ),
        "intro_too_long": t.gettext("The message is too long (at most {max} characters)."),
        "nobody": t.gettext("Nobody who took part can be reached now ({n} took part)."),
        "stale": t.gettext("This preview is no longer valid. Nothing was sent."),
    }
    return texts.get(error.reason, error.reason).format(**error.values)
