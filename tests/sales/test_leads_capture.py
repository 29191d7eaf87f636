"""The public web form: a post makes a lead and shows the thank-you page; the honeypot drops bots
silently; the rate limit answers 429; errors keep the input and write nothing."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from tests.support.web_forms import field_block

from loopcrm.modules.sales.leads import service as leads
from loopcrm.modules.sales.leads.models import Lead
from loopcrm.modules.sales.leads.schemas import LeadFormIn, LeadListQuery
from loopcrm.platform.unit_of_work import UnitOfWork

from ..conftest import Person

UowFactory = Callable[[], UnitOfWork]


def _form(uow_factory: UowFactory, admin: Person) -> str:
    created = leads.create_form(
        uow_factory(),
        admin.actor,
        LeadFormIn(
            name="官网咨询",
            fields=["family_name", "given_name", "email", "phone", "company_name"],
            required_fields=["email"],
            thank_you_message="感谢您的咨询，我们会尽快联系您。",
            allowed_origins=["https://www.example.com"],
        ),
    )
    return created.public_path


def _count(uow_factory: UowFactory) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Lead)) or 0)


def test_a_post_creates_a_lead_and_shows_the_thank_you_page(
    client, uow_factory: UowFactory, admin: Person
) -> None:
    path = _form(uow_factory, admin)
    page = client.get(path + "?utm_campaign=spring")
    assert page.status_code == 200
    assert "frame-ancestors 'self' https://www.example.com" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers

    answer = client.post(
        path,
        data={
            "family_name": "李",
            "given_name": "雷",
            "email": "li.lei@example.com",
            "utm_campaign": "spring",
        },
    )

    assert answer.status_code == 200
    assert "感谢您的咨询，我们会尽快联系您。" in answer.text
    found = leads.list_leads(uow_factory(), admin.actor, LeadListQuery(), limit=10, cursor=None).items
    assert [
        (lead.full_name, lead.source.value if lead.source else None, lead.utm_campaign) for lead in found
    ] == [("李雷", "website", "spring")]


def test_the_honeypot_drops_a_bot_silently(client, uow_factory: UowFactory, admin: Person) -> None:
    path = _form(uow_factory, admin)

    answer = client.post(
        path, data={"family_name": "Bot", "email": "bot@example.com", "website_url": "http://spam"}
    )

    assert answer.status_code == 200
    assert "感谢您的咨询" in answer.text
    assert _count(uow_factory) == 0


def test_errors_keep_the_input_and_write_nothing(client, uow_factory: UowFactory, admin: Person) -> None:
    path = _form(uow_factory, admin)

    answer = client.post(path, data={"family_name": "王", "company_name": "晨光文具"})

    assert answer.status_code == 422
    assert 'value="晨光文具"' in answer.text
    assert _count(uow_factory) == 0


def test_the_rate_limit_answers_429_after_five_posts_from_one_address(
    client, uow_factory: UowFactory, admin: Person
) -> None:
    path = _form(uow_factory, admin)
    statuses = [
        client.post(path, data={"family_name": "王", "email": f"p{number}@example.com"}).status_code
        for number in range(6)
    ]

    assert statuses == [200, 200, 200, 200, 200, 429]
    assert _count(uow_factory) == 5


def test_an_unknown_token_is_not_found(client) -> None:
    assert client.get("/forms/no-such-token").status_code == 404


def test_an_admin_edits_a_web_form_and_deactivating_it_closes_the_public_page(
    client, uow_factory: UowFactory, admin: Person, sign_in, post_form
) -> None:
    created = leads.create_form(
        uow_factory(),
        admin.actor,
        LeadFormIn(
            name="官网咨询",
            fields=["family_name", "email"],
            source="event",
            utm_campaign="expo-2027",
            owner_id=admin.user.id,
        ),
    )
    public_path, form_id = created.public_path, created.id
    edit_path = f"/sales/leads/settings/forms/{form_id}/edit"
    sign_in(admin.user.email)
    assert f'href="{edit_path}"' in client.get("/sales/leads/settings").text

    page = client.get(edit_path)
    assert page.status_code == 200
    assert "官网咨询" in field_block(page.text, "name")
    fields = ["family_name", "email", "phone"]
    refused = post_form(
        edit_path,
        edit_path,
        [("name", "   "), ("version", "1"), ("is_active", "on"), *(("fields", name) for name in fields)],
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in field_block(refused.text, "name")
    assert 'value="phone" checked' in refused.text  # the input is kept
    unchanged = leads.get_form(uow_factory(), admin.actor, form_id)
    assert (unchanged.name, unchanged.version) == ("官网咨询", 1)

    saved = post_form(
        edit_path,
        edit_path,
        [
            ("name", "展会报名"),
            ("version", "1"),
            ("allowed_origins", "https://expo.example.com"),
            *(("fields", name) for name in fields),
            ("required_fields", "phone"),
        ],
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/sales/leads/settings")
    changed = leads.get_form(uow_factory(), admin.actor, form_id)
    assert (changed.name, changed.fields, changed.required_fields, changed.allowed_origins) == (
        "展会报名",
        fields,
        ["phone"],
        ["https://expo.example.com"],
    )
    assert (changed.is_active, changed.version) == (False, 2)
    # what the page does not show is kept
    assert (changed.source.value, changed.utm_campaign, changed.owner_id) == (
        "event",
        "expo-2027",
        admin.user.id,
    )
    assert client.get(public_path).status_code == 404  # unticked "active": the form is closed

    stale = post_form(edit_path, edit_path, [("name", "旧版本"), ("version", "1"), ("fields", "email")])
    assert stale.status_code == 422
    assert leads.get_form(uow_factory(), admin.actor, form_id).name == "展会报名"
