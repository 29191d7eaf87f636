"""Planning the demo's contacts: people at the planned companies (some changed jobs between two of
them), expatriates at the foreign ones, B2C consumers without a company, and a few duplicates."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from loopcrm.modules.customers.demo.companies import CompanyPlanner
from loopcrm.modules.customers.demo.planned import (
    CHINESE_TITLE_WEIGHTS,
    CITY_WEIGHTS,
    CONSUMER_OWNERS,
    CONSUMER_SOURCES,
    FOLLOW_UP,
    KEY_ACCOUNT,
    LEVELS,
    NEW_CUSTOMER,
    SENIOR_TITLES,
    SOURCES,
    TEAM_OWNERS,
    VIP,
    ContactPlan,
    EmploymentPlan,
)
from loopcrm.modules.customers.demo.vocabulary import ENGLISH_TITLES, HEAD_TEAM, RESIDENCES
from loopcrm.modules.customers.models import Gender, OperatingStatus


class PeoplePlanner:
    """Plans contacts for the accounts a :class:`CompanyPlanner` planned."""

    def __init__(self, companies: CompanyPlanner) -> None:
        self.draw = companies.draw
        self.today = companies.today
        self.accounts = companies.accounts
        self.companies = companies.companies

    def person(self, city_name: str | None, *, english: bool) -> tuple[str, str, Gender]:
        """A name not yet used in the city, so only the planted duplicates look like duplicates."""
        for _ in range(20):
            family, given, gender = self.draw.english_name() if english else self.draw.chinese_name()
            if self.draw.claim(f"person:{city_name}:{family}{given}"):
                break
        if self.draw.chance(0.04):
            gender = Gender.UNKNOWN
        return family, given, gender

    def _contact_basics(self, family: str, given: str, gender: Gender, *, wechat: float) -> dict[str, Any]:
        draw = self.draw
        payload: dict[str, Any] = {"family_name": family, "given_name": given, "gender": gender.value}
        if draw.chance(wechat):
            payload["wechat_id"] = draw.wechat_id(family, given)
        if draw.chance(0.3):
            payload["birthday"] = draw.birthday().isoformat()
        return payload

    def employed_contact(self, account: int) -> ContactPlan:
        draw = self.draw
        company = self.companies[account]
        english = company.is_foreign and (company.is_headquarters or draw.chance(0.4))
        city_name = company.city.name if company.city else self.accounts[account].payload.get("city")
        family, given, gender = self.person(city_name, english=english)
        payload = self._contact_basics(family, given, gender, wechat=0.2 if english else 0.65)
        title, department = draw.pick(ENGLISH_TITLES) if english else draw.weighted(CHINESE_TITLE_WEIGHTS)
        payload.update(title=title, department=department, source=draw.weighted(SOURCES).value)
        if company.city:
            payload.update(province=company.city.province, city=company.city.name)
        elif city_name:
            payload["city"] = city_name
        phones = []
        if company.city and draw.chance(0.5 if english else 0.93):
            phones.append({"number": draw.mobile()[0], "label": "mobile", "is_primary": True})
            if draw.chance(0.08):
                phones.append({"number": draw.mobile()[0], "label": "mobile"})
        if company.city and draw.chance(0.25) and (number := draw.landline(company.city)):
            phones.append({"number": number, "label": "work"})
        emails = []
        if company.domain and draw.chance(0.85):
            emails.append(
                {
                    "address": draw.work_email(family, given, company.domain),
                    "label": "work",
                    "is_primary": True,
                }
            )
        if draw.chance(0.25 if emails else 0.7) and not english:
            emails.append({"address": draw.personal_email(family, given), "label": "home"})
        if not emails and not phones:
            emails.append({"address": draw.personal_email(family, given), "label": "home"})
        payload.update(phones=phones, emails=emails)
        payload.update(
            email_opt_in=draw.chance(0.45),
            sms_opt_in=draw.chance(0.25),
            wechat_opt_in="wechat_id" in payload and draw.chance(0.5),
        )
        if draw.chance(0.4):
            payload["custom_fields"] = {"level": draw.weighted(LEVELS)}
        started = draw.day_before(self.today, 60, 3650)
        ended = None
        if company.status is OperatingStatus.DEREGISTERED:
            ended = draw.day_before(self.today, 30, 700)
            started = min(started, ended - timedelta(days=draw.between(200, 2000)))
        employments = [EmploymentPlan(account, title, started, ended)]
        if draw.chance(0.12) and len(self.accounts) > 1:  # changed jobs: the previous employer
            previous = draw.between(0, len(self.accounts) - 1)
            if previous != account:
                left = started - timedelta(days=draw.between(1, 90))
                employments.append(
                    EmploymentPlan(
                        previous,
                        draw.weighted(CHINESE_TITLE_WEIGHTS)[0] if not english else title,
                        left - timedelta(days=draw.between(300, 2500)),
                        left,
                    )
                )
        source_plan = self.accounts[account]
        tags = []
        if KEY_ACCOUNT in source_plan.tags and title in SENIOR_TITLES:
            tags.append(KEY_ACCOUNT)
        if draw.chance(0.08):
            tags.append(FOLLOW_UP)
        return ContactPlan(payload, source_plan.owner, source_plan.team, employments, tags)

    def consumer(self) -> ContactPlan:
        """A B2C customer: no company, a home address, personal email and mobile."""
        draw = self.draw
        city = draw.weighted(CITY_WEIGHTS)
        english = draw.chance(0.03)
        family, given, gender = self.person(city.name, english=english)
        payload = self._contact_basics(family, given, gender, wechat=0.7)
        payload.update(province=city.province, city=city.name, source=draw.weighted(CONSUMER_SOURCES).value)
        if draw.chance(0.6):
            district = draw.pick(city.districts)
            place = "" if district.name.startswith(city.name) else district.name
            payload["address"] = (
                f"{city.address_prefix}{place}{draw.pick(district.streets)}{draw.between(1, 2999)}号"
                f"{draw.pick(RESIDENCES)}{draw.between(1, 30)}栋{draw.between(1, 32)}0{draw.between(1, 4)}室"
            )
        if draw.chance(0.2):
            payload["birthday"] = draw.birthday().isoformat()
        payload["phones"] = [{"number": draw.mobile()[0], "label": "mobile", "is_primary": True}]
        if draw.chance(0.6):
            payload["emails"] = [{"address": draw.personal_email(family, given), "label": "home"}]
        payload.update(
            email_opt_in=draw.chance(0.55),
            sms_opt_in=draw.chance(0.45),
            wechat_opt_in="wechat_id" in payload and draw.chance(0.7),
        )
        if draw.chance(0.5):
            payload["custom_fields"] = {"level": draw.weighted(LEVELS)}
        tags = [
            tag for tag, chance in ((VIP, 0.1), (NEW_CUSTOMER, 0.1), (FOLLOW_UP, 0.06)) if draw.chance(chance)
        ]
        return ContactPlan(payload, draw.weighted(CONSUMER_OWNERS), None, [], tags)

    def duplicate_contact(self, original: ContactPlan) -> ContactPlan:
        """The same person entered again by a colleague: same name, city and employer, the mobile
        typed another way (or the same email), nothing else."""
        source = original.payload
        payload: dict[str, Any] = {
            key: source[key]
            for key in ("family_name", "given_name", "province", "city", "title")
            if key in source
        }
        mobiles = [phone["number"] for phone in source.get("phones", []) if phone["label"] == "mobile"]
        if mobiles and self.draw.chance(0.6):
            digits = "".join(character for character in mobiles[0] if character.isdigit())[-11:]
            payload["phones"] = [
                {"number": f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}", "label": "mobile"}
            ]
        elif source.get("emails"):
            payload["emails"] = [{"address": source["emails"][0]["address"].upper(), "label": "work"}]
        else:
            payload["phones"] = source["phones"][:1]
        team = original.team or HEAD_TEAM
        owners = [email for email, _ in TEAM_OWNERS[team] if email != original.owner] or [original.owner]
        current = [job for job in original.employments if job.ended_on is None][:1]
        employments = [
            EmploymentPlan(job.account, job.title, self.today - timedelta(days=30)) for job in current
        ]
        return ContactPlan(payload, self.draw.pick(owners), original.team, employments)
