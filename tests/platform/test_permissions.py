"""Record scope (own / team / all), team hierarchy and field security, as every module uses them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import RoleUpdate, TeamCreate
from loopcrm.platform.errors import PermissionDenied
from loopcrm.platform.permissions import (
    Action,
    ObjectType,
    Scope,
    SecurityLevel,
    mask_fields,
    register_object_type,
    require_record_access,
    scope_condition,
    system_actor,
)


class ScratchBase(DeclarativeBase):
    metadata = MetaData()


class Deal(ScratchBase):
    """A stand-in business record: owned by a user, filed under a team, with a confidential margin."""

    __tablename__ = "scratch_deals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    team_id: Mapped[str | None] = mapped_column(String(36))
    margin: Mapped[str | None] = mapped_column(String(20))


DEAL = register_object_type(
    ObjectType(
        key="scratch_deal",
        label="Scratch deals",
        default_grants={
            "admin": {action: Scope.ALL for action in Action},
            "sales_manager": {Action.READ: Scope.TEAM, Action.UPDATE: Scope.TEAM},
            "sales_rep": {Action.READ: Scope.OWN, Action.UPDATE: Scope.OWN},
        },
        field_levels={"margin": SecurityLevel.CONFIDENTIAL},
    )
)


@pytest.fixture
def sales_org(engine: Engine, uow_factory, make_person):
    """A department with two regional teams, a manager each, two reps in East, one in South."""
    ScratchBase.metadata.create_all(engine)
    department = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="Sales"))
    east = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="East", parent_id=department.id))
    south = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="South", parent_id=department.id))
    people = {
        "admin": make_person("admin"),
        "east_rep": make_person("sales_rep", team_ids=(east.id,)),
        "east_rep_2": make_person("sales_rep", team_ids=(east.id,)),
        "south_rep": make_person("sales_rep", team_ids=(south.id,)),
    }
    from loopcrm.platform.auth.schemas import TeamUpdate

    people["east_manager"] = make_person("sales_manager", team_ids=(east.id,))
    auth.update_team(
        uow_factory(), system_actor(), east.id, TeamUpdate(manager_id=people["east_manager"].user.id)
    )
    people["director"] = make_person("sales_manager", team_ids=(department.id,))
    auth.update_team(
        uow_factory(), system_actor(), department.id, TeamUpdate(manager_id=people["director"].user.id)
    )
    with Session(engine) as session:
        for key in ("east_rep", "east_rep_2", "south_rep"):
            owner = people[key].user
            session.add(Deal(id=f"deal-{key}", owner_id=owner.id, team_id=owner.team_ids[0], margin="31%"))
        session.commit()
    # actors are resolved after the team changes, as a new request would
    resolved = {key: auth.actor_for_user(uow_factory(), person.user.id) for key, person in people.items()}
    yield resolved
    ScratchBase.metadata.drop_all(engine)


def visible_deals(engine: Engine, actor) -> list[str]:
    condition = scope_condition(
        actor, DEAL.key, Action.READ, owner_column=Deal.owner_id, team_column=Deal.team_id
    )
    with Session(engine) as session:
        return sorted(session.scalars(select(Deal.id).where(condition)))


def test_a_rep_sees_only_own_records(engine, sales_org) -> None:
    assert visible_deals(engine, sales_org["east_rep"]) == ["deal-east_rep"]


def test_a_manager_sees_the_team_records(engine, sales_org) -> None:
    assert visible_deals(engine, sales_org["east_manager"]) == ["deal-east_rep", "deal-east_rep_2"]


def test_a_manager_of_a_parent_team_sees_the_sub_teams_records(engine, sales_org) -> None:
    assert visible_deals(engine, sales_org["director"]) == [
        "deal-east_rep",
        "deal-east_rep_2",
        "deal-south_rep",
    ]


def test_an_admin_sees_all_records(engine, sales_org) -> None:
    assert visible_deals(engine, sales_org["admin"]) == ["deal-east_rep", "deal-east_rep_2", "deal-south_rep"]


def test_a_role_without_a_grant_is_refused_rather_than_shown_nothing(engine, sales_org, make_person) -> None:
    marketer = make_person("marketer").actor

    with pytest.raises(PermissionDenied):
        visible_deals(engine, marketer)


def test_a_rep_may_not_update_a_colleagues_record(sales_org) -> None:
    rep, colleague = sales_org["east_rep"], sales_org["east_rep_2"]

    with pytest.raises(PermissionDenied):
        require_record_access(rep, DEAL.key, Action.UPDATE, owner_id=colleague.user_id, team_id=None)
    require_record_access(rep, DEAL.key, Action.UPDATE, owner_id=rep.user_id, team_id=None)


def test_a_confidential_field_is_masked_for_a_rep_and_shown_to_a_manager(sales_org) -> None:
    record = {"id": "deal-1", "margin": "31%"}

    for_rep = mask_fields(sales_org["east_rep"], DEAL.key, record)
    for_manager = mask_fields(sales_org["east_manager"], DEAL.key, record)

    assert for_rep.values == {"id": "deal-1", "margin": None}
    assert for_rep.masked == ("margin",)
    assert for_rep.revealed_sensitive == ()
    assert for_manager.values == {"id": "deal-1", "margin": "31%"}
    assert for_manager.revealed_sensitive == ("margin",)


def test_an_admins_edit_of_a_role_overrides_the_default_grant(engine, sales_org, uow_factory) -> None:
    sales_rep_role = next(
        role for role in auth.list_roles(uow_factory(), system_actor()) if role.key == "sales_rep"
    )
    auth.update_role(
        uow_factory(), system_actor(), sales_rep_role.id, RoleUpdate(grants={DEAL.key: {"read": "team"}})
    )
    rep = auth.actor_for_user(uow_factory(), sales_org["east_rep"].user_id)

    assert visible_deals(engine, rep) == ["deal-east_rep", "deal-east_rep_2"]


# ------------------------------------------------------------- the same rules through the API


def test_a_manager_lists_the_team_members_and_an_admin_everyone(
    client: TestClient, make_person, uow_factory
) -> None:
    team = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="East"))
    manager = make_person("sales_manager", team_ids=(team.id,))
    member = make_person("sales_rep", team_ids=(team.id,))
    outsider = make_person("sales_rep")
    admin = make_person("admin")

    seen_by_manager = client.get("/api/v1/users", headers=manager.headers).json()["items"]
    seen_by_admin = client.get("/api/v1/users", headers=admin.headers).json()["items"]
    outsider_for_manager = client.get(f"/api/v1/users/{outsider.user.id}", headers=manager.headers)

    assert {user["id"] for user in seen_by_manager} == {manager.user.id, member.user.id}
    assert {user["id"] for user in seen_by_admin} == {
        manager.user.id,
        member.user.id,
        outsider.user.id,
        admin.user.id,
    }
    assert outsider_for_manager.status_code == 404


def test_a_confidential_user_field_is_masked_in_the_api_below_its_clearance(
    client: TestClient, make_person, uow_factory
) -> None:
    team = auth.create_team(uow_factory(), system_actor(), TeamCreate(name="East"))
    colleague = make_person("sales_rep", team_ids=(team.id,), phone="+8613800138000")
    rep = make_person("sales_rep", team_ids=(team.id,))
    admin = make_person("admin")
    sales_rep_role = next(
        role for role in auth.list_roles(uow_factory(), system_actor()) if role.key == "sales_rep"
    )
    granted = client.patch(
        f"/api/v1/roles/{sales_rep_role.id}",
        json={"grants": {"user": {"read": "team"}}},
        headers=admin.headers,
    )

    seen_by_rep = client.get(f"/api/v1/users/{colleague.user.id}", headers=rep.headers).json()
    seen_by_admin = client.get(f"/api/v1/users/{colleague.user.id}", headers=admin.headers).json()

    assert granted.status_code == 200
    assert seen_by_rep["phone"] is None
    assert seen_by_rep["masked_fields"] == ["phone"]
    assert seen_by_rep["email"] == colleague.user.email  # internal: within a rep's clearance
    assert seen_by_admin["phone"] == "+8613800138000"
    assert seen_by_admin["masked_fields"] == []


def test_reading_someone_elses_confidential_field_is_audited(client: TestClient, make_person) -> None:
    admin = make_person("admin")
    colleague = make_person("sales_rep", phone="+8613800138000")

    client.get(f"/api/v1/users/{colleague.user.id}", headers=admin.headers)
    reads = client.get(
        "/api/v1/audit-log", params={"object_id": colleague.user.id, "action": "read"}, headers=admin.headers
    ).json()["items"]

    assert len(reads) == 1
    assert reads[0]["actor_id"] == admin.user.id
    assert reads[0]["changes"] == {"phone": None}
