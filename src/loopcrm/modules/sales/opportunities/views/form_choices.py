"""The options the opportunities pages offer in their selects (pipelines and stages, lost
reasons, currencies, users, teams, accounts, contacts) and the names of the area's states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import BuyingRole, ListQuery
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import (
    CurrencyOut,
    ForecastCategory,
    LostReasonOut,
    PipelineOut,
    StageKind,
)
from loopcrm.platform.auth import service as auth
from loopcrm.platform.errors import DomainError
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action
from loopcrm.platform.web.pages import WebPage

PICKER_SIZE = 200

STAGE_KIND_NAMES = {
    StageKind.OPEN.value: N_("Open"),
    StageKind.WON.value: N_("Won"),
    StageKind.LOST.value: N_("Lost"),
}
FORECAST_CATEGORY_NAMES = {
    ForecastCategory.CLOSED.value: N_("Closed"),
    ForecastCategory.COMMIT.value: N_("Commit"),
    ForecastCategory.BEST_CASE.value: N_("Best case"),
    ForecastCategory.PIPELINE.value: N_("Pipeline"),
    ForecastCategory.OMITTED.value: N_("Omitted"),
}
BUYING_ROLE_NAMES = {
    BuyingRole.DECISION_MAKER.value: N_("Decision maker"),
    BuyingRole.ECONOMIC_BUYER.value: N_("Economic buyer"),
    BuyingRole.TECHNICAL_EVALUATOR.value: N_("Technical evaluator"),
    BuyingRole.INFLUENCER.value: N_("Influencer"),
    BuyingRole.USER.value: N_("User"),
    BuyingRole.GATEKEEPER.value: N_("Gatekeeper"),
    BuyingRole.CHAMPION.value: N_("Champion"),
}


@dataclass
class Choices:
    """Everything a deal's form or a filter bar offers."""

    pipelines: list[PipelineOut] = field(default_factory=list)
    lost_reasons: list[LostReasonOut] = field(default_factory=list)
    currencies: list[CurrencyOut] = field(default_factory=list)
    users: list[tuple[str, str]] = field(default_factory=list)
    teams: list[tuple[str, str]] = field(default_factory=list)
    accounts: list[tuple[str, str]] = field(default_factory=list)
    contacts: list[tuple[str, str]] = field(default_factory=list)
    stage_kinds: list[tuple[str, str]] = field(default_factory=list)
    forecast_categories: list[tuple[str, str]] = field(default_factory=list)
    buying_roles: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pipeline_choices(self) -> list[tuple[str, str]]:
        return [(pipeline.id, pipeline.name) for pipeline in self.pipelines]

    @property
    def stage_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Active stages grouped by pipeline, for a select with option groups."""
        return [
            (pipeline.name, [(stage.id, stage.name) for stage in pipeline.stages if stage.is_active])
            for pipeline in self.pipelines
        ]

    @property
    def lost_reason_choices(self) -> list[tuple[str, str]]:
        return [(reason.id, reason.name) for reason in self.lost_reasons]

    @property
    def currency_choices(self) -> list[tuple[str, str]]:
        return [(currency.code, f"{currency.code} · {currency.name}") for currency in self.currencies]


def teams(page: WebPage) -> list[tuple[str, str]]:
    try:
        return [
            (team.id, team.name)
            for team in auth.list_teams(page.uow(), page.actor, limit=500, cursor=None).items
        ]
    except DomainError:
        return []


def settings_choices(page: WebPage) -> Choices:
    """Pipelines, lost reasons, currencies, users and teams (what filters need)."""
    translate = page.translator.choices
    active = opportunities.active_settings(page.uow(), page.actor)
    return Choices(
        pipelines=active.pipelines,
        lost_reasons=active.lost_reasons,
        currencies=active.currencies,
        users=auth.user_choices(page.uow(), page.actor),
        teams=teams(page),
        stage_kinds=translate(STAGE_KIND_NAMES),
        forecast_categories=translate(FORECAST_CATEGORY_NAMES),
        buying_roles=translate(BUYING_ROLE_NAMES),
    )


def form_choices(page: WebPage, *, include_accounts: Sequence[tuple[str, str]] = ()) -> Choices:
    """:func:`settings_choices` plus the accounts and contacts the reader may read (first by name)."""
    chosen = settings_choices(page)
    if page.actor.can("account", Action.READ):
        found = customers.list_accounts(
            page.uow(), page.actor, ListQuery(sort="name"), limit=PICKER_SIZE, cursor=None
        )
        chosen.accounts = [(account.id, account.name) for account in found.items]
    known = {account_id for account_id, _ in chosen.accounts}
    chosen.accounts += [(key, name) for key, name in include_accounts if key and key not in known]
    if page.actor.can("contact", Action.READ):
        found_contacts = customers.list_contacts(
            page.uow(), page.actor, ListQuery(sort="full_name"), limit=PICKER_SIZE, cursor=None
        )
        chosen.contacts = [(contact.id, contact.full_name) for contact in found_contacts.items]
    return chosen
