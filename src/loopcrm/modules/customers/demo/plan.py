"""The demo's customers as plain data: a seeded plan of accounts, contacts and relationships.

Planning is pure (no database), so it is deterministic for a seed and can be checked in full
against the API's schemas without loading anything. Records refer to each other by their index in
the plan; the loader turns indexes into ids. Owners and teams are the demo people's emails and team
names (``loopcrm.platform.auth.demo``).

What the plan holds, for about 1,000 accounts and 5,000 contacts:

* Chinese companies in cities that exist, with credit codes registered in the right district,
  skewed towards IT, manufacturing and wholesale, with long-tailed sizes; a few groups with
  subsidiaries and branches, a few trade associations, some dormant or deregistered companies;
* about a fifth foreign companies: China entities with Chinese and English names, some under a
  headquarters abroad;
* contacts working at those companies (some changed jobs between two of them), about 15% B2C
  consumers without a company, expatriates with English names at the foreign companies;
* a handful of deliberate duplicates (the same company or person entered twice by two
  colleagues), so the duplicate finder has something to find;
* relationships between companies, tags and the demo's custom field values.
"""

from __future__ import annotations

from datetime import date

from loopcrm.modules.customers.demo.companies import CompanyPlanner
from loopcrm.modules.customers.demo.draw import Draw
from loopcrm.modules.customers.demo.people import PeoplePlanner
from loopcrm.modules.customers.demo.planned import (
    CHANNEL_PARTNER,
    CITY_WEIGHTS,
    COMPETITOR_CUSTOMER,
    FOLLOW_UP,
    INDUSTRIES,
    KEY_ACCOUNT,
    NEW_CUSTOMER,
    VIP,
    DemoPlan,
)
from loopcrm.modules.customers.models import CustomFieldKind, OperatingStatus, RecordKind
from loopcrm.modules.customers.schemas import CustomFieldCreate, OptionIn, TagCreate

DEMO_SEED = 20261123
DEMO_ACCOUNTS = 1000
DEMO_CONTACTS = 5000
MIN_ACCOUNTS = 20  # below this the groups, foreign companies and duplicates do not fit

TAGS = (
    TagCreate(name=KEY_ACCOUNT, colour="#e03131", description="年收入或合同额居前的客户"),
    TagCreate(name=NEW_CUSTOMER, colour="#2f9e44", description="近一年新签约"),
    TagCreate(name=FOLLOW_UP, colour="#f08c00", description="需要销售尽快联系"),
    TagCreate(name=VIP, colour="#ae3ec9", description="高价值个人客户"),
    TagCreate(name=COMPETITOR_CUSTOMER, colour="#495057", description="目前在用竞品"),
    TagCreate(name=CHANNEL_PARTNER, colour="#1c7ed6", description="代理商或合作伙伴"),
)
CUSTOM_FIELDS = (
    CustomFieldCreate(
        record_kind=RecordKind.ACCOUNT,
        key="contract_value",
        label="合同金额",
        label_en="Contract value",
        kind=CustomFieldKind.MONEY,
        security_level="confidential",
        position=10,
        help_text="当前年度合同总额（元）",
    ),
    CustomFieldCreate(
        record_kind=RecordKind.ACCOUNT,
        key="renewal_date",
        label="续约日期",
        label_en="Renewal date",
        kind=CustomFieldKind.DATE,
        security_level="internal",
        position=20,
    ),
    CustomFieldCreate(
        record_kind=RecordKind.CONTACT,
        key="level",
        label="客户等级",
        label_en="Level",
        kind=CustomFieldKind.SELECT,
        options=[
            OptionIn(value="gold", label="金牌", label_en="Gold"),
            OptionIn(value="silver", label="银牌", label_en="Silver"),
            OptionIn(value="bronze", label="铜牌", label_en="Bronze"),
        ],
        position=10,
    ),
)


def plan_demo_customers(
    seed: int = DEMO_SEED,
    *,
    accounts: int = DEMO_ACCOUNTS,
    contacts: int = DEMO_CONTACTS,
    today: date,
) -> DemoPlan:
    """Plan ``accounts`` accounts and ``contacts`` contacts; the same arguments give the same plan.

    ``today`` anchors every date (jobs, renewals), so a plan made on another day differs only in
    its dates.
    """
    if accounts < MIN_ACCOUNTS or contacts < accounts:
        raise ValueError(f"the demo needs at least {MIN_ACCOUNTS} accounts and as many contacts")
    planner = CompanyPlanner(Draw(seed), today)
    draw = planner.draw
    foreign_total = round(accounts * 0.2)
    duplicate_accounts = max(1, round(accounts * 0.004))
    # Parents first, so a child always refers to an account planned before it.
    headquarters = [planner.foreign_headquarters() for _ in range(max(1, round(accounts * 0.015)))]
    for _ in range(max(1, round(accounts * 0.02))):
        planner.chinese_group()
    for parent, brand in headquarters:
        for _ in range(draw.between(1, 2)):
            planner.foreign_entity(parent=parent, brand=brand)
    foreign = sum(item.is_foreign for item in planner.accounts)
    while len(planner.accounts) < accounts - duplicate_accounts:
        if foreign < foreign_total:
            planner.foreign_entity()
            foreign += 1
        elif draw.chance(0.005):
            planner.association()
        else:
            planner.chinese_company(draw.weighted(CITY_WEIGHTS), draw.weighted(INDUSTRIES))
    del planner.accounts[accounts - duplicate_accounts :], planner.companies[accounts - duplicate_accounts :]
    originals = [
        index
        for index, company in enumerate(planner.companies)
        if not company.is_foreign
        and company.status is OperatingStatus.ACTIVE
        and planner.accounts[index].parent is None
    ]
    for _ in range(duplicate_accounts):
        planner.duplicate_account(draw.pick(originals))
    relationships = planner.relationships(round(accounts * 0.15))
    planner.tag_accounts(relationships)

    people_planner = PeoplePlanner(planner)
    duplicate_contacts = max(1, round(contacts * 0.002))
    consumers = round(contacts * 0.15)
    employed = contacts - consumers - duplicate_contacts
    weights = [min(company.employees, 5_000) ** 0.5 for company in planner.companies]
    employers = list(range(len(planner.accounts)))[:employed]
    employers += draw.random.choices(
        range(len(planner.accounts)), weights=weights, k=employed - len(employers)
    )
    people = [people_planner.employed_contact(account) for account in employers]
    people += [people_planner.consumer() for _ in range(consumers)]
    draw.random.shuffle(people)
    candidates = [
        person for person in people if person.employments and person.employments[0].ended_on is None
    ]
    people += [people_planner.duplicate_contact(draw.pick(candidates)) for _ in range(duplicate_contacts)]
    return DemoPlan(planner.accounts, people, relationships)
