"""REST routes of assignment, under /api/v1: rules, reps' availability and the history.

Routes only translate HTTP to one service call (ADR 0005); permissions, validation and audit
happen in ``assignment.service``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from loopcrm.modules.sales.assignment import service as assignment
from loopcrm.modules.sales.assignment.schemas import (
    AssignedRecordType,
    AssignmentOut,
    AvailabilityOut,
    AvailabilityUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
)
from loopcrm.platform.auth.schemas import Input
from loopcrm.platform.http.concurrency import expected_version, with_etag
from loopcrm.platform.http.dependencies import (
    DEFAULT_PAGE_SIZE,
    AppSettings,
    CurrentActor,
    Cursor,
    IfMatch,
    Limit,
    Uow,
)
from loopcrm.platform.pagination import Page

router = APIRouter()

RULES = "/api/v1/assignment-rules"


class RuleOrder(Input):
    """The evaluation order of one record type's rules: every rule id once, first first."""

    record_type: AssignedRecordType
    rule_ids: list[str] = Field(max_length=500)


class RuleList(BaseModel):
    items: list[RuleOut]


@router.get("/assignment-rules", response_model=RuleList, tags=["assignment"])
def list_rules(
    actor: CurrentActor, uow: Uow, record_type: Annotated[AssignedRecordType | None, Query()] = None
) -> RuleList:
    """Every rule in evaluation order (rules are few, so one page)."""
    return RuleList(items=assignment.list_rules(uow, actor, record_type=record_type))


@router.post(
    "/assignment-rules", response_model=RuleOut, status_code=status.HTTP_201_CREATED, tags=["assignment"]
)
def create_rule(data: RuleCreate, actor: CurrentActor, uow: Uow, response: Response) -> RuleOut:
    """Add a rule at the end of its record type's order."""
    return with_etag(response, assignment.create_rule(uow, actor, data), created_in=RULES)


@router.put("/assignment-rules/order", response_model=RuleList, tags=["assignment"])
def reorder_rules(data: RuleOrder, actor: CurrentActor, uow: Uow) -> RuleList:
    """Set the evaluation order of a record type's rules."""
    return RuleList(items=assignment.reorder_rules(uow, actor, data.record_type, data.rule_ids))


@router.get("/assignment-rules/{rule_id}", response_model=RuleOut, tags=["assignment"])
def read_rule(rule_id: str, actor: CurrentActor, uow: Uow, response: Response) -> RuleOut:
    return with_etag(response, assignment.get_rule(uow, actor, rule_id))


@router.patch("/assignment-rules/{rule_id}", response_model=RuleOut, tags=["assignment"])
def update_rule(
    rule_id: str,
    data: RuleUpdate,
    actor: CurrentActor,
    uow: Uow,
    response: Response,
    if_match: IfMatch = None,
) -> RuleOut:
    """Change the fields sent; absent fields stay as they are."""
    rule = assignment.update_rule(uow, actor, rule_id, data, expected_version=expected_version(if_match))
    return with_etag(response, rule)


@router.delete("/assignment-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["assignment"])
def delete_rule(rule_id: str, actor: CurrentActor, uow: Uow, if_match: IfMatch = None) -> None:
    """Remove the rule; the history keeps its name."""
    assignment.delete_rule(uow, actor, rule_id, expected_version=expected_version(if_match))


class AvailabilityList(BaseModel):
    items: list[AvailabilityOut]


@router.get("/rep-availability", response_model=AvailabilityList, tags=["assignment"])
def list_availability(actor: CurrentActor, uow: Uow, settings: AppSettings) -> AvailabilityList:
    """The reps you reach: everyone (admins), your teams' members (managers) or yourself."""
    return AvailabilityList(
        items=assignment.list_availability(uow, actor, company_time_zone=settings.default_timezone)
    )


@router.get("/rep-availability/{user_id}", response_model=AvailabilityOut, tags=["assignment"])
def read_availability(
    user_id: str, actor: CurrentActor, uow: Uow, settings: AppSettings, response: Response
) -> AvailabilityOut:
    found = assignment.get_availability(uow, actor, user_id, company_time_zone=settings.default_timezone)
    response.headers["ETag"] = f'"{found.version}"'
    return found


@router.patch("/rep-availability/{user_id}", response_model=AvailabilityOut, tags=["assignment"])
def update_availability(
    user_id: str,
    data: AvailabilityUpdate,
    actor: CurrentActor,
    uow: Uow,
    settings: AppSettings,
    response: Response,
    if_match: IfMatch = None,
) -> AvailabilityOut:
    """Change the fields sent (null clears one); a rep may change only their own time away.
    Working hours are read in the company's time zone."""
    changed = assignment.update_availability(
        uow,
        actor,
        user_id,
        data,
        company_time_zone=settings.default_timezone,
        expected_version=expected_version(if_match),
    )
    response.headers["ETag"] = f'"{changed.version}"'
    return changed


@router.get("/assignments", response_model=Page[AssignmentOut], tags=["assignment"])
def list_assignments(
    actor: CurrentActor,
    uow: Uow,
    record_type: Annotated[AssignedRecordType | None, Query()] = None,
    record_id: Annotated[str | None, Query(max_length=36)] = None,
    owner_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[AssignmentOut]:
    """Owner changes newest first: yours (reps), your teams' (managers) or all (admins)."""
    return assignment.list_assignments(
        uow,
        actor,
        record_type=record_type,
        record_id=record_id,
        owner_id=owner_id,
        limit=limit,
        cursor=cursor,
    )
