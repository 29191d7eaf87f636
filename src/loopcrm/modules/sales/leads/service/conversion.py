"""Converting a lead (线索转化): link or create its account and contact, optionally open an
opportunity, and keep its history attached — all in one transaction, or nothing.

Matching records are offered first (accounts by company name and website domain, contacts by
email, phone and name), so a company already in the CRM is linked rather than created twice.

The lead's activities stay linked to the lead and get a link to the contact as well (instead of
``activities.reassign_links``, which moves them): the lead's page keeps its full timeline, and
the contact's (and through it the account's) timeline shows what happened before conversion.

An existing contact linked to the conversion's account is recorded as working there (people
change jobs), unless a current employment there exists or the converting user may not change the
contact; its other employments stay.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ValidationError

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityFilter, ActivityUpdate, SubjectLink
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    ContactCreate,
    ContactOut,
    ContactUpdate,
    EmailIn,
    EmploymentIn,
    ListQuery,
    PhoneIn,
)
from loopcrm.modules.sales.leads.models import Lead, LeadStatus
from loopcrm.modules.sales.leads.schemas import (
    ConversionCandidates,
    ConversionMatch,
    ConversionOut,
    LeadConversion,
)
from loopcrm.modules.sales.leads.service import records
from loopcrm.modules.sales.leads.service.access import LEAD
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.schemas import OpportunityContactIn, OpportunityCreate
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import record_change
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from loopcrm.platform.pagination import MAX_PAGE_SIZE
from loopcrm.platform.permissions import Action, Actor, SecurityLevel, require
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

MAX_CANDIDATES = 10


def _domain(website: str | None) -> str | None:
    if not website:
        return None
    host = (urlsplit(website).hostname or "").lower()
    return host.removeprefix("www.") or None


def _candidates(uow: UnitOfWork, actor: Actor, lead: Lead) -> ConversionCandidates:
    """Accounts and contacts the actor may read that look like the lead's company and person."""
    accounts: dict[str, ConversionMatch] = {}
    if lead.company_name:
        candidate = customers.DuplicateCandidate(name=lead.company_name, city=lead.city)
        for match in customers.find_duplicates(uow, actor, "account", candidate, limit=MAX_CANDIDATES):
            accounts[match.id] = ConversionMatch(id=match.id, label=match.label, reasons=list(match.reasons))
    domain = _domain(lead.website)
    if domain and actor.can("account", Action.READ):
        page = customers.list_accounts(
            JoinedUnitOfWork(uow),
            actor,
            ListQuery(filters=[f"domain:eq:{domain}"]),
            limit=MAX_CANDIDATES,
            cursor=None,
        )
        for account in page.items:
            found = accounts.setdefault(
                account.id, ConversionMatch(id=account.id, label=account.name, reasons=[])
            )
            if "domain" not in found.reasons:
                found.reasons.append("domain")
    contacts: list[ConversionMatch] = []
    person = customers.DuplicateCandidate(
        name=lead.full_name,
        city=lead.city,
        emails=(lead.email,) if lead.email else (),
        phones=(lead.phone,) if lead.phone else (),
        family_name_length=len(lead.family_name),
    )
    for match in customers.find_duplicates(uow, actor, "contact", person, limit=MAX_CANDIDATES):
        contacts.append(ConversionMatch(id=match.id, label=match.label, reasons=list(match.reasons)))
    return ConversionCandidates(accounts=list(accounts.values())[:MAX_CANDIDATES], contacts=contacts)


def conversion_candidates(uow: UnitOfWork, actor: Actor, lead_id: str) -> ConversionCandidates:
    """What the conversion page offers to link: matching accounts and contacts."""
    with uow:
        lead = records.load(uow, actor, lead_id, Action.UPDATE)
        result = _candidates(uow, actor, lead)
        uow.commit()  # list_accounts audits confidential values it showed
        return result


def _link_activities(uow: UnitOfWork, actor: Actor, lead_id: str, contact_id: str) -> int:
    """Add a link to the contact on every activity of the lead; how many activities got one.

    Done on the converting user's behalf with the system's reach: the user may convert the lead,
    and its history belongs to the contact whoever logged each activity.
    """
    on_behalf = Actor(
        user_id=actor.user_id,
        label=actor.label,
        role_key="system",
        grants={},
        clearance=SecurityLevel.SECRET,
        is_system=True,
        request_id=actor.request_id,
    )
    linked = 0
    cursor: str | None = None
    while True:
        page = activities.list_activities(
            JoinedUnitOfWork(uow),
            on_behalf,
            ActivityFilter(subject=f"lead:{lead_id}"),
            limit=MAX_PAGE_SIZE,
            cursor=cursor,
        )
        for activity in page.items:
            keys = [link.key for link in activity.links if link.subject_id is not None]
            if ("contact", contact_id) in keys:
                continue
            links = [SubjectLink(subject_type=kind, subject_id=str(record)) for kind, record in keys]
            links.append(SubjectLink(subject_type="contact", subject_id=contact_id))
            activities.update_activity(
                JoinedUnitOfWork(uow), on_behalf, activity.id, ActivityUpdate(links=links)
            )
            linked += 1
        cursor = page.next_cursor
        if cursor is None:
            return linked


def _employ(uow: UnitOfWork, actor: Actor, contact: ContactOut, account_id: str, title: str | None) -> None:
    """Record that the existing ``contact`` works at the conversion's account now, keeping where it
    worked before; nothing when it already does, or when ``actor`` may not change the contact (the
    conversion itself still goes through)."""
    if any(job.account_id == account_id and job.ended_on is None for job in contact.employments):
        return
    kept = [
        EmploymentIn(
            account_id=job.account_id,
            title=job.title,
            started_on=job.started_on,
            ended_on=job.ended_on,
            is_primary=job.is_primary,
        )
        for job in contact.employments
    ]
    has_current = any(job.ended_on is None for job in contact.employments)
    added = EmploymentIn(account_id=account_id, title=title, is_primary=not has_current)
    try:
        customers.update_contact(
            JoinedUnitOfWork(uow), actor, contact.id, ContactUpdate(employments=[*kept, added])
        )
    except (PermissionDenied, NotFound, ValidationError):  # not the actor's to change; 20 jobs already
        return


def convert_lead(uow: UnitOfWork, actor: Actor, lead_id: str, data: LeadConversion) -> ConversionOut:
    """Convert the lead: the account and contact are linked (by id) or created from the lead, an
    opportunity is opened when asked, the lead's activities are linked to the contact, and the
    lead becomes qualified. One transaction: a refusal anywhere changes nothing. A lead is
    converted once; a second attempt is a conflict."""
    require(actor, LEAD.key, Action.UPDATE)
    with uow:
        lead = records.load(uow, actor, lead_id, Action.UPDATE)
        if data.expected_version is not None and lead.version != data.expected_version:
            raise StaleVersion()
        if lead.converted_at is not None:
            raise Conflict("This lead has already been converted")
        if lead.status == LeadStatus.DISQUALIFIED.value:
            raise ValidationFailed.single("lead", "A disqualified lead cannot be converted", "disqualified")
        owner = {"owner_id": lead.owner_id} if lead.owner_id else {}
        account_id: str | None = None
        account_created = False
        if data.account_id:
            try:
                account_id = customers.get_account(JoinedUnitOfWork(uow), actor, data.account_id).id
            except NotFound:
                raise ValidationFailed.single(
                    "account_id", "No account has this id", "unknown_account"
                ) from None
        elif data.create_account and lead.company_name:
            account = customers.create_account(
                JoinedUnitOfWork(uow),
                actor,
                AccountCreate.model_validate(
                    {
                        "name": lead.company_name,
                        "industry": lead.industry,
                        "province": lead.province,
                        "city": lead.city,
                        "website": lead.website,
                        "source": lead.source,
                        **owner,
                    }
                ),
            )
            account_id, account_created = account.id, True
        contact_created = False
        if data.contact_id:
            try:
                contact = customers.get_contact(JoinedUnitOfWork(uow), actor, data.contact_id)
            except NotFound:
                raise ValidationFailed.single(
                    "contact_id", "No contact has this id", "unknown_contact"
                ) from None
            contact_id = contact.id
            if account_id:
                _employ(uow, actor, contact, account_id, lead.title)
        else:
            contact_id = customers.create_contact_in(
                uow,
                actor,
                ContactCreate.model_validate(
                    {
                        "family_name": lead.family_name,
                        "given_name": lead.given_name,
                        "title": lead.title,
                        "province": lead.province,
                        "city": lead.city,
                        "source": lead.source,
                        "description": lead.description,
                        "emails": [EmailIn(address=lead.email).model_dump()] if lead.email else [],
                        "phones": [PhoneIn(number=lead.phone).model_dump()] if lead.phone else [],
                        "employments": [
                            EmploymentIn(
                                account_id=account_id, title=lead.title, is_primary=True
                            ).model_dump()
                        ]
                        if account_id
                        else [],
                        **owner,
                    }
                ),
            )
            contact_created = True
        opportunity_id: str | None = None
        if data.opportunity is not None:
            attributes = {
                name: str(value)
                for name in (
                    "source",
                    "industry",
                    "province",
                    "city",
                    "utm_campaign",
                    "utm_medium",
                    "utm_source",
                )
                if (value := getattr(lead, name))
            }
            opportunity = opportunities.create_opportunity_in(
                uow,
                actor,
                OpportunityCreate.model_validate(
                    {
                        "name": data.opportunity.name,
                        "account_id": account_id,
                        "pipeline_id": data.opportunity.pipeline_id,
                        "amount": data.opportunity.amount,
                        "expected_close_date": data.opportunity.expected_close_date,
                        "source": lead.source,
                        "lead_id": lead.id,
                        "attributes": attributes,
                        "contacts": [
                            OpportunityContactIn(
                                contact_id=contact_id, buying_role=data.buying_role, is_primary=True
                            ).model_dump()
                        ],
                        **owner,
                    }
                ),
            )
            opportunity_id = opportunity.id
        linked = _link_activities(uow, actor, lead.id, contact_id)
        now = utc_now()
        previous_status = lead.status
        lead.status = LeadStatus.QUALIFIED.value
        lead.converted_at = now
        lead.converted_by = actor.user_id
        lead.converted_account_id = account_id
        lead.converted_contact_id = contact_id
        lead.converted_opportunity_id = opportunity_id
        lead.updated_by = actor.user_id
        lead.updated_at = now
        records.flush(uow.session)
        record_change(
            uow,
            actor,
            AuditAction.UPDATE,
            LEAD.key,
            lead.id,
            {
                "status": [previous_status, lead.status],
                "converted_at": [None, now],
                "converted_account_id": [None, account_id],
                "converted_contact_id": [None, contact_id],
                "converted_opportunity_id": [None, opportunity_id],
            },
        )
        result = ConversionOut(
            lead=records.lead_out(uow, actor, lead, is_read=False),
            account_id=account_id,
            account_created=account_created,
            contact_id=contact_id,
            contact_created=contact_created,
            opportunity_id=opportunity_id,
            linked_activities=linked,
            converted_at=now,
        )
        uow.commit()
        return result
