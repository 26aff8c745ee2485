"""Staff use cases: roles by one-time link, revoking, group invite links, age corrections,
who am I.

Every function checks the role from the database (and BACKBONE_ADMIN_IDS) at the moment it
runs; a link or a button never carries authority of its own: when a link is used, its creator
must still hold a role that may make it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.services.callbacks import GRANT_PREFIX, JOIN_PREFIX, GrantLink, JoinLink, start_payload
from bot.services.context import Ctx
from storage.models import Participant
from storage.statuses import RunStatus, Stage, set_run_status, set_stage

__all__ = ["GRANT_PREFIX", "JOIN_PREFIX"]  # the deep-link prefixes live in callbacks

ROLE_LINK_VALID = timedelta(hours=48)
GROUP_LINK_VALID = timedelta(days=90)
GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PARENTAL_FLAG = "--parental-consent-on-file"
AGE_BANDS = ("16plus", "under16")
# Links printed by the `backbone` CLI: whoever runs it holds the database already.
TRUSTED_CREATORS = frozenset({"cli"})


def deep_link(bot_username: str, payload: str) -> str:
    """https://t.me/<bot>?start=<payload>."""
    return f"https://t.me/{bot_username}?start={payload}"


def refuse(ctx: Ctx, admin_only: bool = False) -> bool:
    """Say no (once, politely) unless the person has the role; True when refused."""
    allowed = ctx.role == "admin" if admin_only else ctx.is_staff
    if not allowed:
        ctx.say(ctx.t.gettext("Sorry, this command is only for the backbone team."))
    return not allowed


async def grant(ctx: Ctx, args: str, bot_username: str, now: datetime) -> None:
    """/grant facilitator|admin — a link that gives the role once, valid for 48 hours."""
    if refuse(ctx, admin_only=True):
        return
    role = args.strip().lower()
    if role not in ("facilitator", "admin"):
        ctx.say(ctx.t.gettext("Usage: /grant facilitator or /grant admin"))
        return
    invite = await ctx.repo.add_invite(
        "role",
        ctx.participant.pseudonym,
        role=role,
        expires_at=now + ROLE_LINK_VALID,
        single_use=True,
    )
    await ctx.repo.audit(
        ctx.participant.pseudonym, "role_link_created", {"role": role, "valid_hours": 48}
    )
    ctx.say(
        ctx.t.gettext(
            "Send this link to the person who should become {role}. It works once, "
            "within 48 hours:\n{link}"
        ).format(role=role, link=deep_link(bot_username, start_payload(GrantLink(invite.token))))
    )


async def revoke(ctx: Ctx, args: str, admin_ids: frozenset[int], now: datetime) -> None:
    """/revoke <pseudonym> — back to participant; their open role links are voided."""
    if refuse(ctx, admin_only=True):
        return
    pseudonym = args.strip()
    if not pseudonym:
        ctx.say(ctx.t.gettext("Usage: /revoke P-XXXXXX (the person's pseudonym, see /whoami)"))
        return
    target = await ctx.repo.participant_by_pseudonym(pseudonym)
    if target is None:
        ctx.say(ctx.t.gettext("Nobody has the pseudonym {pseudonym}.").format(pseudonym=pseudonym))
        return
    identity = await ctx.repo.identity_of(target.id)
    if identity is not None and identity.telegram_user_id in admin_ids:
        ctx.say(
            ctx.t.gettext(
                "{pseudonym} is an admin by the bot's settings (BACKBONE_ADMIN_IDS); "
                "change it there."
            ).format(pseudonym=target.pseudonym)
        )
        return
    previous = target.role
    target.role = "participant"
    # Links they made before must not carry their old power on (they are checked when used,
    # too; voiding them means a later re-promotion does not revive them).
    voided = await ctx.repo.void_role_links(target.pseudonym, now)
    await ctx.repo.audit(
        ctx.participant.pseudonym,
        "role_revoked",
        {"target": target.pseudonym, "previous": previous, "links_voided": voided},
    )
    t = ctx.t
    ctx.say(
        t.gettext("{pseudonym} is now a participant.").format(pseudonym=target.pseudonym)
        + " "
        + t.ngettext(
            "{n} open role link they made no longer works.",
            "{n} open role links they made no longer work.",
            voided,
        ).format(n=voided)
    )


async def invite(ctx: Ctx, args: str, bot_username: str, now: datetime) -> None:
    """/invite <group> [--parental-consent-on-file] — a link that puts people in a group."""
    if refuse(ctx, admin_only=True):
        return
    words = args.split()
    parental = PARENTAL_FLAG in words
    names = [w for w in words if w != PARENTAL_FLAG]
    if len(names) != 1 or not GROUP_NAME.match(names[0].lower()):
        ctx.say(
            ctx.t.gettext(
                "Usage: /invite <group> [--parental-consent-on-file], e.g. /invite school-a-9b"
            )
        )
        return
    name = names[0].lower()
    group = await ctx.repo.ensure_group(name, ctx.participant.pseudonym)
    link = await ctx.repo.add_invite(
        "group",
        ctx.participant.pseudonym,
        group_id=group.id,
        parental_consent=parental,
        expires_at=now + GROUP_LINK_VALID,
    )
    await ctx.repo.audit(
        ctx.participant.pseudonym,
        "group_link_created",
        {"group": name, "parental_consent_on_file": parental},
    )
    text = ctx.t.gettext("Invite link for the group {group} (valid 90 days):\n{link}").format(
        group=name, link=deep_link(bot_username, start_payload(JoinLink(link.token)))
    )
    if parental:
        text += "\n\n" + ctx.t.gettext(
            "You confirmed that the parents' consent for the under-16s of this group is on "
            "file. This is recorded with your pseudonym."
        )
    ctx.say(text)


async def redeem(
    ctx: Ctx, deep: GrantLink | JoinLink, now: datetime, admin_ids: frozenset[int]
) -> None:
    """Use a role or group link from /start."""
    kind = "role" if isinstance(deep, GrantLink) else "group"
    t = ctx.t
    link = await ctx.repo.invite(deep.token)
    if link is None or link.kind != kind:
        ctx.say(t.gettext("This link is not valid (any more). Please ask for a new one."))
        return
    if not await creator_may_make(ctx, link.created_by, admin_ids):
        await ctx.repo.audit(
            ctx.participant.pseudonym,
            "link_refused",
            {"kind": kind, "created_by": link.created_by, "reason": "creator_not_admin"},
        )
        ctx.say(
            t.gettext(
                "This link no longer works: the person who made it is no longer an admin. "
                "Please ask the backbone team for a new one."
            )
        )
        return
    expired = link.expires_at is not None and link.expires_at <= now
    if expired or (link.single_use and link.used_at):
        ctx.say(t.gettext("This link is not valid (any more). Please ask for a new one."))
        return
    if kind == "role":
        link.used_at = now
        ctx.participant.role = link.role
        await ctx.repo.audit(
            link.created_by,
            "role_granted",
            {"target": ctx.participant.pseudonym, "role": link.role},
        )
        ctx.say(
            t.gettext("You are now {role}. /help shows what you can do.").format(role=link.role)
        )
        return
    group = await ctx.repo.group_by_id(link.group_id)
    if await ctx.repo.add_member(group.id, ctx.participant.id, link.token):
        ctx.say(t.gettext("Welcome! You are now in the group {group}.").format(group=group.name))
    elif link.parental_consent:
        # Already in the group through an older link: this one's confirmation (by an admin
        # who still is one) now stands for them.
        await ctx.repo.set_member_invite(group.id, ctx.participant.id, link.token)


async def creator_may_make(ctx: Ctx, created_by: str, admin_ids: frozenset[int]) -> bool:
    """Whether a link's creator may still make it now (role and group links: admins only)."""
    if created_by in TRUSTED_CREATORS:
        return True
    return await ctx.repo.current_role(created_by, admin_ids) == "admin"


async def agecheck(ctx: Ctx, args: str, now: datetime) -> None:
    """/agecheck P-XXXXXX 16plus|under16 — correct a person's age band (admins, audited)."""
    if refuse(ctx, admin_only=True):
        return
    t = ctx.t
    words = args.split()
    if len(words) != 2 or words[1].lower() not in AGE_BANDS:
        ctx.say(t.gettext("Usage: /agecheck P-XXXXXX 16plus or /agecheck P-XXXXXX under16"))
        return
    target = await ctx.repo.participant_by_pseudonym(words[0])
    if target is None:
        ctx.say(t.gettext("Nobody has the pseudonym {pseudonym}.").format(pseudonym=words[0]))
        return
    band = words[1].lower()
    previous = target.age_band
    target.age_band = band
    withdrawn = 0
    if band == "16plus":
        if target.stage == Stage.MINOR:
            set_stage(target, Stage.CONSENT)  # they may now agree to the notice themselves
        text = t.gettext(
            "{pseudonym} is now recorded as 16 or older. The next time they write to me, "
            "they can agree to the privacy notice themselves."
        )
    else:
        withdrawn = await _correct_to_minor(ctx, target, now)
        text = t.gettext(
            "{pseudonym} is now recorded as under 16. They can take part once their "
            "parents' consent is on file."
        )
    await ctx.repo.audit(
        ctx.participant.pseudonym,
        "age_band_corrected",
        {
            "target": target.pseudonym,
            "previous": previous,
            "age_band": band,
            "consents_withdrawn": withdrawn,
        },
    )
    ctx.say(text.format(pseudonym=target.pseudonym))


async def _correct_to_minor(ctx: Ctx, target: Participant, now: datetime) -> int:
    """Their own consent was never valid: withdraw it, stop their open interview (answers are
    kept), and send them down the under-16 path; the number of consents withdrawn."""
    withdrawn = await ctx.repo.withdraw_self_consents(target.id, now)
    if withdrawn or target.stage == Stage.CONSENT:
        set_stage(target, Stage.MINOR)
    run = await ctx.repo.open_run(target.id) if withdrawn else None
    if run is not None:
        set_run_status(run, RunStatus.INCOMPLETE)
        run.collect_until = None
        run.finished_at = now
    return withdrawn


async def whoami(ctx: Ctx) -> None:
    """/whoami — the person's pseudonym and role (staff need pseudonyms for /revoke)."""
    ctx.say(
        ctx.t.gettext("Your pseudonym is {pseudonym}; your role: {role}.").format(
            pseudonym=ctx.participant.pseudonym, role=ctx.role
        )
    )
