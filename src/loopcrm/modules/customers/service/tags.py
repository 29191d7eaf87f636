"""Tags: coloured labels that admins, managers and marketers define and anyone who may edit a
record puts on it."""

from __future__ import annotations

from sqlalchemy import func, select

from loopcrm.modules.customers.models import Account, Contact, Tag, Tagging
from loopcrm.modules.customers.schemas import TagCreate, TagOut, TagUpdate
from loopcrm.modules.customers.service.object_types import TAG
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.errors import NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork


def _out(tag: Tag) -> TagOut:
    return TagOut(
        id=tag.id, name=tag.name, colour=tag.colour, description=tag.description, version=tag.version
    )


def _name_taken(uow: UnitOfWork, name: str, except_id: str | None = None) -> bool:
    statement = select(Tag.id).where(func.lower(Tag.name) == name.lower())
    if except_id:
        statement = statement.where(Tag.id != except_id)
    return uow.session.scalar(statement) is not None


def create_tag(uow: UnitOfWork, actor: Actor, data: TagCreate) -> TagOut:
    require(actor, TAG.key, Action.CREATE)
    with uow:
        if _name_taken(uow, data.name):
            raise ValidationFailed.single("name", "A tag with this name already exists", "duplicate")
        tag = Tag(
            name=data.name,
            colour=data.colour,
            description=data.description,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        uow.session.add(tag)
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            TAG.key,
            tag.id,
            {"name": [None, tag.name], "colour": [None, tag.colour]},
        )
        result = _out(tag)
        uow.commit()
        return result


def list_tags(uow: UnitOfWork, actor: Actor) -> list[TagOut]:
    """Every tag by name (tags are few: a vocabulary, not data)."""
    require(actor, TAG.key, Action.READ)
    with uow:
        return [_out(tag) for tag in uow.session.scalars(select(Tag).order_by(Tag.name))]


def tag_usage(uow: UnitOfWork, actor: Actor) -> dict[str, dict[str, int]]:
    """How many accounts and contacts carry each tag: ``{tag_id: {"account": n, "contact": m}}``
    (tags on no record are absent).

    Counted over every record, not only the reader's: renaming or deleting a tag changes it on
    all of them, and that is what the admin deciding needs to know. Deleted records are not
    counted; they show nowhere until restored (and keep their tags for then).
    """
    require(actor, TAG.key, Action.READ)
    usage: dict[str, dict[str, int]] = {}
    with uow:
        for record_kind, model in (("account", Account), ("contact", Contact)):
            counted = uow.session.execute(
                select(Tagging.tag_id, func.count())
                .join(model, model.id == Tagging.record_id)
                .where(Tagging.record_kind == record_kind, model.deleted_at.is_(None))
                .group_by(Tagging.tag_id)
            )
            for tag_id, count in counted:
                usage.setdefault(tag_id, {"account": 0, "contact": 0})[record_kind] = count
    return usage


def _load(uow: UnitOfWork, tag_id: str) -> Tag:
    tag = uow.session.get(Tag, tag_id)
    if tag is None:
        raise NotFound("Tag not found")
    return tag


def update_tag(
    uow: UnitOfWork, actor: Actor, tag_id: str, data: TagUpdate, *, expected_version: int | None = None
) -> TagOut:
    require(actor, TAG.key, Action.UPDATE)
    with uow:
        tag = _load(uow, tag_id)
        if expected_version is not None and tag.version != expected_version:
            raise StaleVersion()
        before = {"name": tag.name, "colour": tag.colour, "description": tag.description}
        changes = data.model_dump(exclude_unset=True)
        if data.name is not None:
            if _name_taken(uow, data.name, except_id=tag.id):
                raise ValidationFailed.single("name", "A tag with this name already exists", "duplicate")
            tag.name = data.name
        if data.colour is not None:
            tag.colour = data.colour
        if "description" in changes:
            tag.description = data.description
        change_log = diff(before, {"name": tag.name, "colour": tag.colour, "description": tag.description})
        if change_log:
            tag.updated_by = actor.user_id
            uow.session.flush()
            record_change(uow, actor, AuditAction.UPDATE, TAG.key, tag.id, change_log)
        result = _out(tag)
        uow.commit()
        return result


def delete_tag(uow: UnitOfWork, actor: Actor, tag_id: str) -> None:
    """Delete the tag and take it off every record (the audit log keeps its name)."""
    require(actor, TAG.key, Action.DELETE)
    with uow:
        tag = _load(uow, tag_id)
        used = uow.session.scalar(select(func.count()).select_from(Tagging).where(Tagging.tag_id == tag.id))
        uow.session.delete(tag)
        record_change(
            uow, actor, AuditAction.DELETE, TAG.key, tag.id, {"name": [tag.name, None], "records": used}
        )
        uow.commit()
