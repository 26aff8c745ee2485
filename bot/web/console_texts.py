"""The staff console's texts, translated for one locale (extracted from here like every
bot text). The console speaks German and English."""

from __future__ import annotations

from bot.i18n import Translator


def common(t: Translator) -> dict[str, str]:
    """The frame of every console page: title, navigation, language switch, logout."""
    return {
        "console": t.gettext("Staff console"),
        "dashboard": t.gettext("Overview"),
        "campaigns": t.gettext("Campaigns"),
        "sessions": t.gettext("Sessions and polls"),
        "exports": t.gettext("Exports"),
        "groups": t.gettext("Groups and invite links"),
        "results": t.gettext("Results back"),
        "flows": t.gettext("Flows"),
        "audit": t.gettext("Audit log"),
        "logout": t.gettext("Log out"),
        "signed_in_as": t.gettext("Signed in as {pseudonym} ({role})"),
        "menu": t.gettext("Menu"),
    }


def login(t: Translator) -> dict[str, str]:
    """The page behind a login link: one button signs in."""
    return {
        "title": t.gettext("Sign in to the staff console"),
        "text": t.gettext(
            "This link works once. Press the button to sign in on this device; the session "
            "lasts 8 hours."
        ),
        "button": t.gettext("Sign in"),
    }


def signed_out(t: Translator) -> str:
    """No (or no longer a) valid session."""
    return t.gettext(
        "You are not signed in (any more). Send /console to the bot for a new login link."
    )


def logged_out(t: Translator) -> str:
    """After logout."""
    return t.gettext("You are logged out. Send /console to the bot to sign in again.")


def bad_link(t: Translator) -> str:
    """A login link that is unknown, used, expired, or whose owner lost the role."""
    return t.gettext(
        "This login link is not valid (any more): it works once, for 10 minutes, and only "
        "for the backbone team. Send /console to the bot for a new one."
    )


def bad_csrf(t: Translator) -> str:
    """A state change without this session's form token, or from another site."""
    return t.gettext(
        "This request was refused: it did not come from a console page of this session. "
        "Nothing was changed. Reload the page and try again."
    )


def admins_only(t: Translator) -> str:
    """A facilitator on an admin's page."""
    return t.gettext("Only admins can do this. Nothing was changed.")


def not_found(t: Translator) -> str:
    """An unknown campaign, session, flow or group."""
    return t.gettext("Not found.")


def figures(t: Translator) -> dict[str, str]:
    """Column heads and labels of the campaign and session lists."""
    return {
        "running": t.gettext("Running campaigns"),
        "open_sessions": t.gettext("Open sessions"),
        "none_running": t.gettext("No campaign is running."),
        "none_open": t.gettext("No session is open."),
        "campaign": t.gettext("Campaign"),
        "flow": t.gettext("Flow"),
        "status": t.gettext("Status"),
        "groups": t.gettext("Groups"),
        "start": t.gettext("Start"),
        "deadline": t.gettext("Deadline"),
        "invited": t.gettext("Invited"),
        "started": t.gettext("Started"),
        "completed": t.gettext("Completed"),
        "rate": t.gettext("Response rate"),
        "reminders": t.gettext("Reminders sent"),
        "unreachable": t.gettext("Unreachable"),
        "opted_out": t.gettext("Opted out"),
        "pending": t.gettext("Pending"),
        "uncertain": t.gettext("Uncertain"),
        "failed": t.gettext("Failed"),
        "uncertain_who": t.gettext(
            "Uncertain: these messages were in flight during a restart and may or may not "
            "have arrived; they are never sent again."
        ),
        "nobody_uncertain": t.gettext("Nobody is uncertain."),
        "code": t.gettext("Join code"),
        "title": t.gettext("Title"),
        "joined": t.gettext("Joined"),
        "polls": t.gettext("Polls"),
        "opened": t.gettext("Opened"),
        "facilitator": t.gettext("Facilitator"),
        "live": t.gettext("Updates by itself every few seconds."),
        "none": t.gettext("None yet."),
    }


def campaign_actions(t: Translator) -> dict[str, str]:
    """Buttons and the creation form of the campaigns pages."""
    return {
        "pause": t.gettext("Pause"),
        "resume": t.gettext("Resume"),
        "cancel": t.gettext("Cancel campaign"),
        "cancel_ask": t.gettext(
            "Cancel this campaign? Nothing more will be sent; this cannot be undone."
        ),
        "new": t.gettext("New campaign"),
        "preview": t.gettext("Preview"),
        "confirm": t.gettext("Confirm and schedule"),
        "back": t.gettext("Change"),
        "start_now": t.gettext("Start now (leave empty)"),
        "remind": t.gettext("Reminders after (e.g. 3d 7d)"),
        "max_reminders": t.gettext("At most this many reminders"),
        "reminders_after": t.gettext("Reminders after"),
        "quiet_hours": t.gettext("Quiet hours"),
        "quiet": t.gettext("Quiet hours (e.g. 20:00-08:00)"),
        "every_months": t.gettext("Repeat every … months (empty: once)"),
        "preview_title": t.gettext("Check before anything is sent"),
        "would_invite": t.gettext("People who would be invited: {n}"),
        "per_group": t.gettext("{group}: {n}"),
        "cannot_reach": t.gettext(
            "Of them, cannot be reached now (opted out, blocked the bot or no Telegram "
            "link), and not invited unless that changes before the start: {n}"
        ),
        "nobody": t.gettext(
            "Nobody in this audience can be reached now; nothing can be created. Invite "
            "people with a group invite link first."
        ),
        "nothing_yet": t.gettext("Nothing has been created or sent yet."),
        "changed": t.gettext("Campaign {id} is now {status}."),
        "no_reminders": t.gettext("no reminders"),
        "bad_form": t.gettext("Please check the form: {problem}"),
    }


def plan_problem(t: Translator, code: str) -> str:
    """Why a campaign plan cannot work (bot.services.campaign_plan.PlanError codes)."""
    known = {
        "start_in_past": t.gettext("the start lies in the past."),
        "deadline_before_start": t.gettext("the deadline must come after the start."),
        "negative_max_reminders": t.gettext("the number of reminders cannot be negative."),
        "reminders_contradict": t.gettext("reminders are given, but at most 0 are allowed."),
        "reminder_not_positive": t.gettext("a reminder must come after the start."),
        "reminder_after_deadline": t.gettext("a reminder would come after the deadline."),
        "too_many_reminders": t.gettext("more reminders than allowed."),
        "every_months": t.gettext("this repetition is not offered."),
        "no_flow": t.gettext("choose a flow."),
        "no_group": t.gettext("choose at least one group."),
        "bad_time": t.gettext("a date, time or duration could not be read."),
    }
    return known.get(code, code)


def more(t: Translator) -> dict[str, str]:
    """Texts of the sessions, flows, exports, groups and audit pages."""
    return {
        "minutes": t.gettext("Download the minutes (every vote and a summary)"),
        "questions": t.gettext("Questions from the room"),
        "question": t.gettext("Question"),
        "mark_answered": t.gettext("Answered"),
        "hide": t.gettext("Hide"),
        "anonymous": t.gettext("anonymous"),
        "answer": t.gettext("Answer"),
        "count": t.gettext("Votes"),
        "share": t.gettext("Share"),
        "chart_alt": t.gettext("Chart of the results: {question}"),
        "check": t.gettext("Check"),
        "problems": t.gettext("Problems found (as `backbone flows check` reports them): {n}"),
        "all_valid": t.gettext("All flows are valid."),
        "id": t.gettext("Id"),
        "version": t.gettext("Version"),
        "languages": t.gettext("Languages"),
        "translations": t.gettext("Translations"),
        "gap": t.gettext("{kind}: {n}"),
        "complete": t.gettext("complete"),
        "audit_days": t.gettext("Staff actions of the last {days} days, newest first."),
        "at": t.gettext("When"),
        "actor": t.gettext("Who"),
        "action": t.gettext("Action"),
        "details": t.gettext("Details"),
        "export_flow": t.gettext("Answers of a flow"),
        "export_polls": t.gettext("Votes of a session (the minutes)"),
        "format": t.gettext("Format"),
        "layout": t.gettext("Layout"),
        "wide": t.gettext("wide: one row per interview"),
        "long": t.gettext("long: one row per answer"),
        "all_campaigns": t.gettext("All answers (no campaign)"),
        "session": t.gettext("Session"),
        "excel": t.gettext("CSV for German Excel (semicolons)"),
        "download": t.gettext("Download"),
        "export_hint": t.gettext(
            "The same files as `backbone export`, with pseudonyms only; CSV comes as a ZIP "
            "with its codebook or summary beside it. Every download is recorded in the audit "
            "log."
        ),
        "nothing": t.gettext("Nothing to export yet."),
        "members": t.gettext("Members"),
        "group": t.gettext("Group"),
        "new_group": t.gettext("New group"),
        "create": t.gettext("Create"),
        "invite": t.gettext("New invite link"),
        "parental": t.gettext(
            "The school holds the parents' consent for this group's under-16s (recorded "
            "with your pseudonym)"
        ),
        "invite_made": t.gettext("Invite link for the group {group} (valid 90 days):"),
        "qr_alt": t.gettext("QR code of the invite link"),
        "group_made": t.gettext("Group {group} created."),
        "bad_group": t.gettext(
            "Group names are lower-case letters, digits, - and _ (e.g. school-a-9b)."
        ),
        "group_exists": t.gettext("The group {group} exists already."),
    }


def not_allowed(t: Translator) -> str:
    """A campaign change its state does not allow (e.g. resume a cancelled one)."""
    return t.gettext("This campaign cannot do that in its current state. Nothing was changed.")


def no_group(t: Translator, names: str) -> str:
    """Groups of a campaign form that do not exist."""
    return t.gettext("There is no group {names}.").format(names=names)


def state(t: Translator, status: str) -> str:
    """A session's or poll's status in the reader's language."""
    names = {"open": t.gettext("open"), "closed": t.gettext("closed")}
    return names.get(status, status)
