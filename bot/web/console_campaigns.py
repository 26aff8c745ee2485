"""The console's campaign pages: list and figures, who is uncertain, pause / resume / cancel,
and creating one with the same preview and confirmation as the CLI."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.services import console_campaigns as cases
from bot.services import console_views as views
from bot.services.campaign_plan import PlanError
from bot.services.console import Staffer
from bot.web import console_texts
from bot.web.console_auth import HEADERS
from bot.web.console_pages import ConsolePages, _int

FIELDS = ("flow", "start", "deadline", "remind", "max_reminders", "quiet", "every_months")


class ConsoleCampaigns(ConsolePages):
    """Campaigns; changes for admins only (as in the chat)."""

    zone: ZoneInfo

    def _campaign_page(self, name: str, who: Staffer, request: Request, **context) -> Response:
        a = console_texts.campaign_actions(self.t(who.locale))
        return self.page(name, who, request, a=a, **context)

    async def campaigns(self, request: Request, who: Staffer) -> Response:
        """Every campaign with its figures."""
        rows = await views.campaign_rows(self.db, self.catalog, who.locale)
        return self._campaign_page("campaigns", who, request, rows=rows)

    async def campaign(self, request: Request, who: Staffer) -> Response:
        """One campaign: figures, who is uncertain, and its buttons."""
        found = await views.campaign_detail(
            self.db, self.catalog, who.locale, _int(request.path_params["id"])
        )
        if found is None:
            return self.missing(who)
        row, uncertain = found
        note = request.query_params.get("changed")
        return self._campaign_page(
            "campaigns_detail", who, request, row=row, uncertain=uncertain, note=note
        )

    async def campaign_change(self, request: Request, who: Staffer) -> Response:
        """POST pause / resume / cancel (admins)."""
        campaign_id = _int(request.path_params["id"])
        t = self.t(who.locale)
        try:
            status = await cases.change(
                self.db, campaign_id, request.path_params["action"], who.pseudonym
            )
        except ValueError:
            return self.refused(who.locale, console_texts.not_allowed(t), 409)
        if status is None:
            return self.missing(who)
        return RedirectResponse(
            f"/console/campaigns/{campaign_id}?changed={status}", status_code=303, headers=HEADERS
        )

    # --- create ----------------------------------------------------------------------------
    async def _groups(self) -> list[str]:
        from bot.services.console_views import group_names

        return await group_names(self.db)

    async def campaign_new(self, request: Request, who: Staffer) -> Response:
        """The creation form."""
        return self._campaign_page(
            "campaigns_new",
            who,
            request,
            flows=self.catalog.all(),
            groups=await self._groups(),
            form=None,
            problem=None,
        )

    def _form(self, request: Request) -> cases.CampaignForm:
        fields = request.state.form
        values = {name: fields.get(name, "") for name in FIELDS}
        return cases.CampaignForm(groups=tuple(request.state.multi.get("group", [])), **values)

    async def _checked(self, request: Request, who: Staffer):
        """(form, plan, audience), or the form again with the problem."""
        t = self.t(who.locale)
        form = self._form(request)
        try:
            plan = cases.plan_of_form(form, self.catalog, self.zone, self.auth.clock())
            audience = await cases.preview(self.db, plan)
        except PlanError as exc:
            problem = console_texts.plan_problem(t, exc.code)
        except LookupError as exc:
            problem = console_texts.no_group(t, str(exc))
        else:
            return form, plan, audience
        answer = self._campaign_page(
            "campaigns_new",
            who,
            request,
            flows=self.catalog.all(),
            groups=await self._groups(),
            form=form,
            problem=problem,
        )
        answer.status_code = 422
        return answer

    async def campaign_preview(self, request: Request, who: Staffer) -> Response:
        """POST the form: the plan and who would be invited; nothing is created yet."""
        checked = await self._checked(request, who)
        if isinstance(checked, Response):
            return checked
        form, plan, audience = checked
        return self._campaign_page(
            "campaigns_preview",
            who,
            request,
            form=form,
            plan=plan,
            audience=audience,
            title=views.flow_title(self.catalog, plan.flow_id, who.locale),
        )

    async def campaign_create(self, request: Request, who: Staffer) -> Response:
        """POST the confirmation: checked again, created, scheduled."""
        checked = await self._checked(request, who)
        if isinstance(checked, Response):
            return checked
        _form, plan, _audience = checked
        t = self.t(who.locale)
        try:
            campaign_id, _status = await cases.create(self.db, plan, who.pseudonym)
        except PlanError:
            text = console_texts.campaign_actions(t)["nobody"]
            return self.refused(who.locale, text, 422)
        except LookupError as exc:
            return self.refused(who.locale, console_texts.no_group(t, str(exc)), 422)
        return RedirectResponse(
            f"/console/campaigns/{campaign_id}?changed=scheduled",
            status_code=303,
            headers=HEADERS,
        )

    async def campaign_edit(self, request: Request, who: Staffer) -> Response:
        """POST from the preview's change button: the form again, filled in."""
        return self._campaign_page(
            "campaigns_new",
            who,
            request,
            flows=self.catalog.all(),
            groups=await self._groups(),
            form=self._form(request),
            problem=None,
        )
