"""Planning the demo's accounts: Chinese companies, groups with subsidiaries and branches, trade
associations, foreign companies with their China entities, a few duplicates, how they relate, and
their tags and custom field values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from loopcrm.modules.customers.demo.draw import Draw
from loopcrm.modules.customers.demo.planned import (
    CHANNEL_PARTNER,
    CITY_WEIGHTS,
    COMPETITOR_CUSTOMER,
    FOLLOW_UP,
    FOREIGN_CITY_WEIGHTS,
    INDUSTRIES,
    KEY_ACCOUNT,
    NEW_CUSTOMER,
    SOURCES,
    TEAM_OWNERS,
    AccountPlan,
    Company,
    RelationshipPlan,
    pinyin,
)
from loopcrm.modules.customers.demo.vocabulary import (
    ASSOCIATION_SECTORS,
    BRAND_FIRST,
    BRAND_SECOND,
    COUNTRIES,
    DESCRIPTION_NEEDS,
    EAST_TEAM,
    FOREIGN_BRAND_FIRST,
    FOREIGN_BRAND_SECOND,
    FOREIGN_SECTORS,
    HEAD_TEAM,
    INDUSTRY_LABELS,
    INDUSTRY_WORDS,
    SOUTH_TEAM,
    City,
)
from loopcrm.modules.customers.models import CustomerSource, Industry, OperatingStatus, RelationshipKind

ForeignBrand = tuple[str, str, str, str, Industry]  # brand, Chinese brand, sector, Chinese sector, industry


class CompanyPlanner:
    """Plans accounts in order; a child always comes after its parent (parents are planned first)."""

    def __init__(self, draw: Draw, today: date) -> None:
        self.draw = draw
        self.today = today
        self.accounts: list[AccountPlan] = []
        self.companies: list[Company] = []  # what else is known of each account, by the same index

    def _owner(self, team: str) -> str:
        return self.draw.weighted(TEAM_OWNERS[team])

    def _name(self, candidates: list[str]) -> str | None:
        return next((name for name in candidates if self.draw.claim("name:" + name)), None)

    def _domain(self, candidates: list[str]) -> str:
        for candidate in candidates:
            if self.draw.claim("domain:" + candidate):
                return candidate
        while True:
            candidate = f"{candidates[0].split('.')[0]}{self.draw.between(2, 999)}.com"
            if self.draw.claim("domain:" + candidate):
                return candidate

    def _website(self, domain: str) -> str:
        """The website as someone typed it; the schema normalises it."""
        return self.draw.weighted(
            ((f"https://www.{domain}", 5), (f"www.{domain}", 3), (f"http://{domain}", 1), (domain, 1))
        )

    def _address(self, city: City) -> str:
        district = self.draw.pick(city.districts)
        place = "" if district.name.startswith(city.name) else district.name
        street = self.draw.pick(district.streets)
        building = self.draw.weighted(
            (
                ("", 3),
                (f"{self.draw.between(1, 12)}号楼{self.draw.between(1, 28)}0{self.draw.between(1, 9)}室", 4),
                (f"{self.draw.pick('ABCD')}座{self.draw.between(2, 36)}层", 3),
            )
        )
        return f"{city.address_prefix}{place}{street}{self.draw.between(1, 2999)}号{building}"

    def _size(self, low: int = 3, median: int = 60) -> tuple[int, Decimal | None]:
        employees = self.draw.long_tail(median, 1.3, low, 200_000)
        revenue_per_person = self.draw.long_tail(600_000, 0.6, 80_000, 20_000_000)
        revenue = Decimal(round(employees * revenue_per_person, -4)).quantize(Decimal("0.01"))
        return employees, (revenue if self.draw.chance(0.75) else None)

    def _status(self) -> OperatingStatus:
        return self.draw.weighted(
            ((OperatingStatus.ACTIVE, 93), (OperatingStatus.DORMANT, 4), (OperatingStatus.DEREGISTERED, 3))
        )

    def _add(self, plan: AccountPlan, company: Company) -> int:
        self.accounts.append(plan)
        self.companies.append(company)
        return len(self.accounts) - 1

    def _payload(
        self,
        name: str,
        city: City | None,
        industry: Industry,
        domain: str | None,
        employees: int,
        revenue: Decimal | None,
        *,
        name_en: str | None = None,
        registration: str | None = "91",
        status: OperatingStatus = OperatingStatus.ACTIVE,
        description: str | None = None,
    ) -> dict[str, Any]:
        draw = self.draw
        payload: dict[str, Any] = {
            "name": name,
            "industry": industry.value,
            "employee_count": employees,
            "operating_status": status.value,
            "source": draw.weighted(SOURCES).value,
        }
        if name_en:
            payload["name_en"] = name_en
        if revenue is not None:
            payload["annual_revenue"] = str(revenue)
        if city is not None:
            payload.update(province=city.province, city=city.name)
            if registration:
                district = draw.pick(city.districts)
                region = city.code if registration == "51" else district.code
                payload["credit_code"] = draw.credit_code(registration, region)
            if draw.chance(0.85):
                payload["address"] = self._address(city)
            phones = []
            if draw.chance(0.85) and (number := draw.landline(city)):
                phones.append({"number": number, "label": "work", "is_primary": True})
            if draw.chance(0.2) and (number := draw.landline(city)):
                phones.append({"number": number, "label": "fax"})
            if phones:
                payload["phones"] = phones
        if domain:
            if draw.chance(0.8):
                payload["website"] = self._website(domain)
            if draw.chance(0.4):
                local = draw.pick(("info", "sales", "contact", "service", "hr"))
                if draw.claim(f"{local}@{domain}"):
                    payload["emails"] = [{"address": f"{local}@{domain}", "label": "work"}]
        if registration and registration != "51":
            family, given, _ = draw.chinese_name() if city else draw.english_name()
            payload["legal_representative"] = f"{family}{given}" if city else f"{given} {family}"
        if description:
            payload["description"] = description
        return payload

    def chinese_company(
        self, city: City, industry: Industry, *, parent: int | None = None, brand: str | None = None
    ) -> int:
        draw = self.draw
        for attempt in range(1_000):
            # A group's brand may have no name left in this city; then the company gets its own.
            own_brand = (brand if attempt < 10 else None) or draw.pick(BRAND_FIRST) + draw.pick(BRAND_SECOND)
            word, word_en = draw.pick(INDUSTRY_WORDS[industry])
            employees, revenue = self._size()
            form, form_en = (
                ("股份有限公司", "Co., Ltd.")
                if employees > 800 and draw.chance(0.5)
                else ("有限公司", "Co., Ltd.")
            )
            name = self._name([f"{city.name}{own_brand}{word}{form}"])
            if name and own_brand[0] != own_brand[1]:
                break
        else:
            raise RuntimeError("no company name left to plan")
        brand_pinyin = pinyin(own_brand)
        english_word = word_en.split()[0].lower()
        domain = self._domain(
            [
                draw.pick(
                    (f"{brand_pinyin}.com", f"{brand_pinyin}{english_word}.com", f"{brand_pinyin}.com.cn")
                ),
                f"{brand_pinyin}-{english_word}.com",
                f"{city.english.lower()[:2]}{brand_pinyin}.cn",
            ]
        )
        name_en = f"{city.english} {brand_pinyin.title()} {word_en} {form_en}" if draw.chance(0.25) else None
        status = self._status() if parent is None else OperatingStatus.ACTIVE
        description = None
        if draw.chance(0.3):
            description = f"{city.name}本地{INDUSTRY_LABELS[industry]}企业，{draw.pick(DESCRIPTION_NEEDS)}。"
        payload = self._payload(
            name,
            city,
            industry,
            domain,
            employees,
            revenue,
            name_en=name_en,
            status=status,
            description=description,
        )
        team = city.team
        return self._add(
            AccountPlan(payload, self._owner(team), team, parent),
            Company(city, industry, domain, employees, status=status),
        )

    def chinese_group(self) -> None:
        """A group (集团) with subsidiaries in other cities and branches (分公司)."""
        draw = self.draw
        city = draw.weighted(CITY_WEIGHTS)
        industry = draw.weighted(INDUSTRIES)
        while True:
            brand = draw.pick(BRAND_FIRST) + draw.pick(BRAND_SECOND)
            region = city.name if city.address_prefix == f"{city.name}市" else city.province
            name = self._name([f"{region}{brand}{draw.pick(('集团', '控股集团'))}有限公司"])
            if name and brand[0] != brand[1]:
                break
        brand_pinyin = pinyin(brand)
        domain = self._domain([f"{brand_pinyin}group.com", f"{brand_pinyin}.com.cn"])
        employees = draw.between(2_000, 40_000)
        revenue = Decimal(employees * draw.between(500, 1500) * 1000).quantize(Decimal("0.01"))
        name_en = f"{pinyin(region).title()} {brand_pinyin.title()} Group Co., Ltd."
        payload = self._payload(name, city, industry, domain, employees, revenue, name_en=name_en)
        parent = self._add(
            AccountPlan(payload, self._owner(city.team), city.team),
            Company(city, industry, domain, employees),
        )
        for _ in range(draw.between(2, 4)):
            other = draw.weighted(CITY_WEIGHTS)
            if draw.chance(0.3) and other is not city:
                self._branch(parent, name, other, industry, domain)
            else:
                self.chinese_company(
                    other, draw.pick((industry, draw.weighted(INDUSTRIES))), parent=parent, brand=brand
                )

    def _branch(self, parent: int, parent_name: str, city: City, industry: Industry, domain: str) -> None:
        name = self._name([f"{parent_name}{city.name}分公司"])
        if name is None:
            self.chinese_company(city, industry, parent=parent)
            return
        employees, _ = self._size(median=40)
        payload = self._payload(name, city, industry, domain, employees, None)
        self._add(
            AccountPlan(payload, self._owner(city.team), city.team, parent),
            Company(city, industry, domain, employees),
        )

    def association(self) -> None:
        """A trade association: registered with civil affairs (51…), no legal representative."""
        city = self.draw.weighted(CITY_WEIGHTS)
        name = self._name([f"{city.name}市{sector}行业协会" for sector in ASSOCIATION_SECTORS])
        if name is None:
            self.chinese_company(city, self.draw.weighted(INDUSTRIES))
            return
        employees = self.draw.between(5, 30)
        payload = self._payload(
            name, city, Industry.PUBLIC_ADMINISTRATION, None, employees, None, registration="51"
        )
        self._add(
            AccountPlan(payload, self._owner(city.team), city.team, tags=[CHANNEL_PARTNER]),
            Company(city, Industry.PUBLIC_ADMINISTRATION, None, employees),
        )

    def _foreign_brand(self) -> ForeignBrand:
        """``(brand, Chinese brand, sector, Chinese sector, industry)`` of a brand not used yet."""
        draw = self.draw
        while True:
            (first, first_cn), (second, second_cn) = (
                draw.pick(FOREIGN_BRAND_FIRST),
                draw.pick(FOREIGN_BRAND_SECOND),
            )
            sector, sector_cn, industry = draw.pick(FOREIGN_SECTORS)
            brand = first + second
            if draw.claim("brand:" + brand):
                return brand, first_cn + second_cn, sector, sector_cn, industry

    def foreign_entity(self, *, parent: int | None = None, brand: ForeignBrand | None = None) -> int:
        """The China entity of a foreign company: 北桥物流(上海)有限公司 / Northbridge Logistics
        (Shanghai) Co., Ltd., a wholly foreign-owned enterprise with its own credit code."""
        draw = self.draw
        while True:
            brand_en, brand_cn, sector, sector_cn, industry = brand or self._foreign_brand()
            city = draw.weighted(FOREIGN_CITY_WEIGHTS)
            name = self._name([f"{brand_cn}{sector_cn}({city.name})有限公司"])
            if name:
                break
        domain = self._domain([f"{brand_en.lower()}.com.cn", f"{brand_en.lower()}-china.com"])
        employees, revenue = self._size(low=5, median=120)
        description = None
        if draw.chance(0.3):
            description = (
                f"China entity of {brand_en} {sector}; budgets are approved by the regional head office."
            )
        payload = self._payload(
            name,
            city,
            industry,
            domain,
            employees,
            revenue,
            name_en=f"{brand_en} {sector} ({city.english}) Co., Ltd.",
            description=description,
        )
        owner = self.accounts[parent].owner if parent is not None else self._owner(city.team)
        team = self.accounts[parent].team if parent is not None else city.team
        return self._add(
            AccountPlan(payload, owner, team, parent, is_foreign=True),
            Company(city, industry, domain, employees, is_foreign=True),
        )

    def foreign_headquarters(self) -> tuple[int, ForeignBrand]:
        """A headquarters abroad (no Chinese credit code, no province)."""
        draw = self.draw
        brand = self._foreign_brand()
        brand_en, brand_cn, sector, sector_cn, industry = brand
        country = draw.pick(COUNTRIES)
        name = self._name(
            [f"{country.chinese}{brand_cn}{sector_cn}有限公司", f"{country.chinese}{brand_cn}集团"]
        )
        if name is None:
            raise RuntimeError(f"the new brand {brand_en} has no free name")
        domain = self._domain(
            [f"{brand_en.lower()}.{country.top_level_domain}", f"{brand_en.lower()}group.com"]
        )
        employees = draw.between(3_000, 90_000)
        payload = self._payload(
            name,
            None,
            industry,
            domain,
            employees,
            None,
            name_en=f"{brand_en} {sector} {country.legal_suffix}",
            registration=None,
        )
        payload["city"] = draw.pick(country.headquarters)
        team = draw.weighted(((EAST_TEAM, 6), (SOUTH_TEAM, 3), (HEAD_TEAM, 1)))
        index = self._add(
            AccountPlan(payload, self._owner(team), team, is_foreign=True),
            Company(None, industry, domain, employees, is_foreign=True, is_headquarters=True),
        )
        return index, brand

    def duplicate_account(self, original: int) -> None:
        """The same company entered again by a colleague: same name, city and website, the phone
        typed another way, no credit code."""
        source = self.accounts[original]
        payload = {
            key: value
            for key, value in source.payload.items()
            if key in ("name", "province", "city", "website", "industry", "operating_status")
        }
        payload["source"] = CustomerSource.EVENT.value
        if source.payload.get("phones"):
            payload["phones"] = [
                {"number": "+86 " + source.payload["phones"][0]["number"][1:], "label": "work"}
            ]
        team = source.team or HEAD_TEAM
        owners = [email for email, _ in TEAM_OWNERS[team] if email != source.owner] or [source.owner]
        company = self.companies[original]
        self._add(AccountPlan(payload, self.draw.pick(owners), team), Company(**vars(company)))

    # ------------------------------------------------------------ relationships

    def relationships(self, count: int) -> list[RelationshipPlan]:
        """Who buys from, supplies, partners with and competes with whom (客户的客户)."""
        draw = self.draw
        live = [
            index for index, company in enumerate(self.companies) if company.status is OperatingStatus.ACTIVE
        ]
        by_industry: dict[Industry, list[int]] = {}
        for index in live:
            by_industry.setdefault(self.companies[index].industry, []).append(index)
        makers = by_industry.get(Industry.MANUFACTURING, []) + by_industry.get(Industry.WHOLESALE_RETAIL, [])
        services = by_industry.get(Industry.INFORMATION_TECHNOLOGY, []) + by_industry.get(
            Industry.BUSINESS_SERVICES, []
        )
        found: dict[tuple[int, int, RelationshipKind], RelationshipPlan] = {}
        attempts = 0
        while len(found) < count and attempts < count * 20:
            attempts += 1
            kind = draw.weighted(
                (
                    (RelationshipKind.SUPPLIER_OF, 40),
                    (RelationshipKind.CUSTOMER_OF, 25),
                    (RelationshipKind.PARTNER_OF, 20),
                    (RelationshipKind.COMPETITOR_OF, 15),
                )
            )
            if kind is RelationshipKind.SUPPLIER_OF and makers:
                first, second, note = (
                    draw.pick(makers),
                    draw.pick(makers),
                    draw.pick(("年度框架采购协议", "长期供货", None)),
                )
            elif kind is RelationshipKind.CUSTOMER_OF and services:
                first, second, note = (
                    draw.pick(live),
                    draw.pick(services),
                    draw.pick(("系统集成项目", "年度服务合同", None)),
                )
            elif kind is RelationshipKind.PARTNER_OF and services:
                first, second, note = (
                    draw.pick(services),
                    draw.pick(services),
                    draw.pick(("渠道合作", "联合解决方案", None)),
                )
            else:
                kind = RelationshipKind.COMPETITOR_OF
                first = draw.pick(live)
                peers = [
                    index
                    for index in by_industry[self.companies[first].industry]
                    if self.accounts[index].payload.get("province")
                    == self.accounts[first].payload.get("province")
                ]
                second, note = draw.pick(peers), draw.pick(("同城同业竞争", "主要竞争对手", None))
            if first != second and (first, second, kind) not in found:
                found[(first, second, kind)] = RelationshipPlan(first, second, kind, note)
        return list(found.values())

    def tag_accounts(self, relationships: list[RelationshipPlan]) -> None:
        """Tags and the demo's custom field values, once every account is known."""
        draw = self.draw
        revenues = sorted(
            (
                Decimal(plan.payload["annual_revenue"])
                for plan in self.accounts
                if "annual_revenue" in plan.payload
            ),
            reverse=True,
        )
        top = revenues[max(0, len(revenues) // 12 - 1)] if revenues else Decimal(0)
        partners = {
            relationship.from_account
            for relationship in relationships
            if relationship.kind is RelationshipKind.PARTNER_OF
        }
        for index, (plan, company) in enumerate(zip(self.accounts, self.companies, strict=True)):
            if company.status is not OperatingStatus.ACTIVE:
                continue
            revenue = plan.payload.get("annual_revenue")
            if revenue is not None and Decimal(revenue) >= top:
                plan.tags.append(KEY_ACCOUNT)
            for tag, chance in ((NEW_CUSTOMER, 0.1), (FOLLOW_UP, 0.08), (COMPETITOR_CUSTOMER, 0.04)):
                if draw.chance(chance):
                    plan.tags.append(tag)
            if index in partners and CHANNEL_PARTNER not in plan.tags:
                plan.tags.append(CHANNEL_PARTNER)
            if company.city is not None and draw.chance(0.35):
                value = Decimal(round(draw.long_tail(120_000, 1.0, 5_000, 20_000_000), -2))
                plan.payload["custom_fields"] = {
                    "contract_value": f"{value:.2f}",
                    "renewal_date": (self.today + timedelta(days=draw.between(-20, 365))).isoformat(),
                }
