"""Privacy use cases: people see and delete their own data; staff anonymise and read the audit log.

Audit entries written here never carry a pseudonym, id or name: the log must stay free of
personal data even after everything else about a person has been erased.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from storage import privacy as queries
from storage.export import iso_utc
from storage.export_writers import safe_text
from storage.models import utcnow
from storage.repo import Database, Repo

log = logging.getLogger(__name__)

MODES = ("erase", "unlink")
# Who confirmed a parental consent is staff's business; the person learns only that it was.
CONFIRMED_MARKER = "school/staff"


async def personal_data(repo: Repo, participant_id: int) -> dict[str, Any]:
    """Everything stored about one person (for /mydata), JSON-serialisable, times in UTC."""
    data = await queries.person_data(repo.session, participant_id)
    if data is None:
        raise LookupError(f"no participant {participant_id}")
    person, identity = data.participant, data.identity
    media = [
        path
        for run in data.runs
        for a in run["answers"]
        if (path := queries.media_path(a["value"])) is not None
    ]
    return {
        "exported_at": iso_utc(utcnow()),
        "pseudonym": person["pseudonym"],
        "language": person["locale"],
        "role": person["role"],
        "age_band": person["age_band"],
        "opted_out": person["opted_out"],
        "onboarding": person["stage"],
        "created_at": iso_utc(person["created_at"]),
        "telegram": None if identity is None else _telegram(identity),
        "consents": [_consent(c) for c in data.consents],
        "groups": [{"name": g["name"], "joined_at": iso_utc(g["joined_at"])} for g in data.groups],
        "runs": [_run(run) for run in data.runs],
        "media_files": media,
    }


def _telegram(identity: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": identity["telegram_user_id"],
        "chat_id": identity["chat_id"],
        "first_name": identity["first_name"],
        "username": identity["username"],
        "language_code": identity["language_code"],
        "linked_at": iso_utc(identity["created_at"]),
    }


def _consent(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "notice_version": c["notice_version"],
        "language": c["locale"],
        "given_by": c["given_by"],
        "age_band": c["age_band"],
        "confirmed_by": CONFIRMED_MARKER if c["confirmed_by"] else None,
        "group": c["group"],
        "given_at": iso_utc(c["given_at"]),
        "withdrawn_at": iso_utc(c["withdrawn_at"]),
    }


def _run(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run["id"],
        "flow_id": run["flow_id"],
        "flow_version": run["flow_version"],
        "status": run["status"],
        "language": run["locale"],
        "started_at": iso_utc(run["started_at"]),
        "finished_at": iso_utc(run["finished_at"]),
        "answers": [_answer(a) for a in run["answers"]],
    }


def _answer(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "step_id": a["step_id"],
        "value": a["value"],
        "skipped": a["skipped"],
        "shown_text": a["shown_text"],
        "language": a["locale"],
        "answered_at": iso_utc(a["answered_at"]),
        "updated_at": iso_utc(a["updated_at"]),
        "revision": a["revision"],
        **_transcript(a.get("transcript")),
    }


def _transcript(heard: dict[str, Any] | None) -> dict[str, Any]:
    """What the bot's speech-to-text made of a voice note (only answers that have one)."""
    if heard is None:
        return {}
    return {
        "transcript": {
            "text": heard["text"],
            "language": heard["language"],
            "confidence": heard["confidence"],
            "transcribed_at": iso_utc(heard["transcribed_at"]),
        }
    }


def personal_data_json(data: dict[str, Any]) -> bytes:
    """The /mydata file: UTF-8 JSON, indented, non-ASCII kept readable (a lone surrogate an
    older version stored becomes U+FFFD instead of failing the file)."""
    return json.dumps(safe_text(data), indent=2, ensure_ascii=False).encode("utf-8")


async def erase_participant(
    repo: Repo, participant_id: int, media_dir: Path, mode: str = "erase"
) -> dict[str, Any]:
    """Delete a person's data (/delete): "erase" removes everything incl. media files,
    "unlink" keeps runs and answers under the pseudonym but removes the Telegram link.

    Returns {"mode", "runs", "answers", "media_files"}: runs and answers erased (or kept
    unlinked), media files deleted. An unknown participant (already erased) gives zeros
    and no audit entry. The caller must not use the participant's ORM objects afterwards.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if mode == "erase":
        removed = await queries.delete_person(repo.session, participant_id)
    else:
        removed = await queries.unlink_person(repo.session, participant_id, utcnow())
    if removed is None:
        return {"mode": mode, "runs": 0, "answers": 0, "media_files": 0}
    # Deleted rows are zeroed (secure_delete); this also clears the older copies of their
    # pages from SQLite's write-ahead log once the transaction has committed.
    repo.wipe_after_commit()
    media_files = 0
    if mode == "erase":
        # The rows are gone from this transaction first: if that failed, no file is lost.
        # A failed commit after this point leaves rows pointing at deleted files, which a
        # repeated /delete cleans up.
        await repo.session.flush()
        media_files = await asyncio.to_thread(
            delete_media, media_dir, removed.pseudonym, removed.media_paths
        )
    counts = {
        "mode": mode,
        "runs": removed.runs,
        "answers": removed.answers,
        "media_files": media_files,
    }
    await repo.audit("participant", "participant_deleted", dict(counts))
    return counts


def delete_media(media_dir: Path, pseudonym: str, paths: list[str]) -> int:
    """Delete media_dir/<pseudonym>/ and the given paths; never anything outside media_dir.

    Returns how many files were deleted. Symlinks are removed, never followed.
    """
    root = media_dir.resolve()
    targets: set[Path] = set()
    person_dir: Path | None = None
    # A pseudonym is P-XXXXXX; anything that could climb out of media_dir is not one.
    if pseudonym and pseudonym not in (".", "..") and not {"/", "\\", os.sep} & set(pseudonym):
        candidate = root / pseudonym
        if candidate.is_symlink():
            targets.add(candidate)
        elif candidate.is_dir():
            person_dir = candidate
            for dirpath, dirnames, filenames in os.walk(candidate):
                here = Path(dirpath)
                targets.update(here / name for name in filenames)
                # os.walk does not descend into symlinked directories; remove the links.
                targets.update(here / name for name in dirnames if (here / name).is_symlink())
    for path in paths:
        target = _inside(root, path)
        if target is not None and (target.is_symlink() or target.is_file()):
            targets.add(target)
    deleted = 0
    for target in sorted(targets):
        try:
            target.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("could not delete a media file")
    if person_dir is not None:
        try:
            shutil.rmtree(person_dir)
        except OSError:
            log.exception("could not remove a media directory")
    return deleted


def _inside(root: Path, path: str) -> Path | None:
    """`path` (relative to root, or absolute) if it lies inside root, else None."""
    candidate = Path(path) if Path(path).is_absolute() else root / path
    if candidate.name in ("", ".", ".."):
        return None
    # Resolve the directory only: a symlinked file is then unlinked itself, not its target.
    parent = candidate.parent.resolve()
    if not parent.is_relative_to(root):
        return None
    return parent / candidate.name


async def anonymise(db: Database, flow_id: str | None, actor: str = "cli") -> dict[str, Any]:
    """Delete the Telegram link of everyone with runs of `flow_id` (None: everyone) who has
    no open run; returns {"flow", "unlinked", "skipped"}. Unknown flow: LookupError."""
    async with db.transaction() as repo:
        if flow_id is not None and not await queries.flow_known(repo.session, flow_id):
            raise LookupError(f"no data for flow '{flow_id}'")
        unlinked, skipped = await queries.unlink_finished(repo.session, flow_id)
        if unlinked:
            repo.wipe_after_commit()
        details = {"flow": flow_id, "unlinked": unlinked, "skipped": skipped}
        await repo.audit(actor, "anonymise", details)
    return dict(details)


async def audit_entries(db: Database, since: datetime | None = None) -> list[dict[str, Any]]:
    """Audit log entries {"at", "actor", "action", "details"}, oldest first; `since` is aware."""
    if since is not None and since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    async with db.transaction() as repo:
        return await queries.audit_since(repo.session, since)
