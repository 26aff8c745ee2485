"""Statuses as enums, one lifecycle each: the allowed changes live here, in one table.

Stored values are the plain strings they always were (no migration); every place that
changes a status goes through a transition function that calls `check_transition`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator


class CampaignStatus(StrEnum):
    """Where a campaign stands; stored as its plain string value."""

    DRAFT = "draft"  # waiting for confirmation
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class DeliveryStatus(StrEnum):
    """Where one owed message stands (see Delivery)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    SKIPPED = "skipped"


class PollStatus(StrEnum):
    """A poll is open for votes, then closed for good."""

    OPEN = "open"
    CLOSED = "closed"


class SessionStatus(StrEnum):
    """A round-table session is open for joining, then closed for good."""

    OPEN = "open"
    CLOSED = "closed"


class RunStatus(StrEnum):
    """Where one person's run of a flow stands."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"  # cancelled, stopped by staff, or its person was forgotten


class Stage(StrEnum):
    """How far a person is through onboarding (language, privacy notice, age gate)."""

    NEW = "new"
    LANGUAGE = "language"  # asked to choose a language
    CONSENT = "consent"  # shown the privacy notice, not agreed yet
    MINOR = "minor"  # under 16: waits for parental consent on file
    READY = "ready"  # agreed (or parental consent on file): may take part


# The only status changes each lifecycle allows; `transition` enforces them.
TRANSITIONS: dict[type[StrEnum], dict[StrEnum, frozenset[StrEnum]]] = {
    CampaignStatus: {
        CampaignStatus.DRAFT: frozenset({CampaignStatus.SCHEDULED, CampaignStatus.CANCELLED}),
        CampaignStatus.SCHEDULED: frozenset(
            {CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.CANCELLED}
        ),
        CampaignStatus.RUNNING: frozenset(
            {CampaignStatus.PAUSED, CampaignStatus.CANCELLED, CampaignStatus.FINISHED}
        ),
        CampaignStatus.PAUSED: frozenset(
            {
                CampaignStatus.RUNNING,
                CampaignStatus.SCHEDULED,
                CampaignStatus.CANCELLED,
                CampaignStatus.FINISHED,
            }
        ),
    },
    DeliveryStatus: {
        DeliveryStatus.PENDING: frozenset({DeliveryStatus.SENDING, DeliveryStatus.SKIPPED}),
        DeliveryStatus.SENDING: frozenset(
            {
                DeliveryStatus.SENT,
                DeliveryStatus.PENDING,  # a temporary failure: try again later
                DeliveryStatus.FAILED,
                DeliveryStatus.UNCERTAIN,
            }
        ),
    },
    PollStatus: {PollStatus.OPEN: frozenset({PollStatus.CLOSED})},
    SessionStatus: {SessionStatus.OPEN: frozenset({SessionStatus.CLOSED})},
    RunStatus: {
        RunStatus.ACTIVE: frozenset({RunStatus.PAUSED, RunStatus.COMPLETE, RunStatus.INCOMPLETE}),
        RunStatus.PAUSED: frozenset({RunStatus.ACTIVE, RunStatus.INCOMPLETE}),
    },
    Stage: {
        Stage.NEW: frozenset({Stage.LANGUAGE, Stage.CONSENT}),
        Stage.LANGUAGE: frozenset({Stage.CONSENT}),
        Stage.CONSENT: frozenset({Stage.READY, Stage.MINOR}),
        Stage.MINOR: frozenset({Stage.READY, Stage.CONSENT}),  # parents' consent; /agecheck
        Stage.READY: frozenset({Stage.CONSENT, Stage.MINOR}),  # a new notice; /agecheck
    },
}


class IllegalTransition(ValueError):
    """A status change its lifecycle does not allow (nothing was changed)."""

    def __init__(self, what: str, current: str, to: str) -> None:
        super().__init__(f"{what} is {current}; it cannot become {to}")
        self.current, self.to = current, to


def check_transition(what: str, current: str, to: StrEnum) -> StrEnum:
    """`to` if the lifecycle of `to`'s type allows current -> to, else IllegalTransition."""
    kind = type(to)
    if to not in TRANSITIONS[kind].get(kind(current), frozenset()):
        raise IllegalTransition(what, str(current), str(to))
    return to


def set_run_status(run: Any, to: RunStatus) -> None:
    """Move a run to `to` (staying put is allowed); IllegalTransition if its lifecycle
    does not allow it."""
    if run.status != to:
        run.status = check_transition(f"run {run.id}", run.status, to)


def set_stage(participant: Any, to: Stage) -> None:
    """Move a person's onboarding to `to` (staying put is allowed); IllegalTransition if
    the lifecycle does not allow it."""
    if participant.stage != to:
        participant.stage = check_transition(f"participant {participant.id}", participant.stage, to)


class StatusType(TypeDecorator):
    """A status column: a plain string in the database, the enum in Python; unknown values
    are refused on the way in."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__(length=16)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> StrEnum | None:
        return None if value is None else self.enum(value)
