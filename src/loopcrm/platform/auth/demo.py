"""Demo people: a small sales organisation with a login for every built-in role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.models import User
from loopcrm.platform.auth.schemas import Locale, TeamCreate, TeamUpdate, UserCreate
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork

# Every demo login shares one password: the demo is for trying LoopCRM, never for real data.
DEMO_PASSWORD = "loopcrm-demo"  # noqa: S105 -- printed for the demo on purpose
DEMO_ADMIN_EMAIL = "admin@example.com"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    role: str
    team: str | None  # the team the person belongs to
    manages: str | None = None  # the team the person manages
    locale: Locale = "zh_CN"


DEMO_PEOPLE = [
    DemoPerson(DEMO_ADMIN_EMAIL, "王芳", "admin", None),
    DemoPerson("li.qiang@example.com", "李强", "sales_manager", "销售部", manages="销售部"),
    DemoPerson("zhou.min@example.com", "周敏", "sales_manager", "华东销售组", manages="华东销售组"),
    DemoPerson("zhang.wei@example.com", "张伟", "sales_rep", "华东销售组"),
    DemoPerson("liu.yang@example.com", "刘洋", "sales_rep", "华东销售组"),
    DemoPerson("huang.lei@example.com", "黄磊", "sales_manager", "华南销售组", manages="华南销售组"),
    DemoPerson("emma.wilson@example.com", "Emma Wilson", "sales_rep", "华南销售组", locale="en"),
    DemoPerson("chen.jing@example.com", "陈静", "marketer", None),
    DemoPerson("zhao.lei@example.com", "赵磊", "service_agent", None),
    DemoPerson("sun.li@example.com", "孙丽", "analyst", None),
    DemoPerson("guest@example.com", "访客", "read_only", None, locale="en"),
]
# Team → parent team: the two regional teams sit inside the sales department.
DEMO_TEAMS = {"销售部": None, "华东销售组": "销售部", "华南销售组": "销售部"}


def create_demo_people(new_uow: Callable[[], UnitOfWork], actor: Actor) -> bool:
    """Create the demo teams and users once; returns False when they already exist."""
    with new_uow() as uow:
        if uow.session.scalar(select(User.id).where(User.email == DEMO_ADMIN_EMAIL)) is not None:
            return False
    team_ids: dict[str, str] = {}
    for name, parent in DEMO_TEAMS.items():
        team = auth.create_team(new_uow(), actor, TeamCreate(name=name, parent_id=team_ids.get(parent or "")))
        team_ids[name] = team.id
    for person in DEMO_PEOPLE:
        user = auth.create_user(
            new_uow(),
            actor,
            UserCreate(
                email=person.email,
                name=person.name,
                role=person.role,
                password=DEMO_PASSWORD,
                locale=person.locale,
                team_ids=[team_ids[person.team]] if person.team else [],
            ),
        )
        if person.manages:
            auth.update_team(new_uow(), actor, team_ids[person.manages], TeamUpdate(manager_id=user.id))
    return True
