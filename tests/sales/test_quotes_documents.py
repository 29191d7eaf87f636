"""A quote's PDF (Chinese text, embedded font) and its sending by email over a real SMTP server."""

from __future__ import annotations

import email
import io
import re
from collections.abc import Callable
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pypdf
import pytest
from sqlalchemy import Engine
from tests.conftest import Person, SmtpServer
from tests.sales.test_quotes_service import COMPANY, QuoteWorld, build_world, new_quote

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import ActivityFilter
from loopcrm.modules.sales.quotes import service as quotes
from loopcrm.modules.sales.quotes.schemas import QuoteLineIn, QuoteOut, QuoteStatus
from loopcrm.platform.db import create_session_factory
from loopcrm.platform.errors import ValidationFailed
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

UowFactory = Callable[[], UnitOfWork]


@pytest.fixture
def world(uow_factory: UowFactory, make_person: Callable[..., Person]) -> QuoteWorld:
    return build_world(uow_factory, make_person)


def _quote(uow_factory: UowFactory, world: QuoteWorld) -> QuoteOut:
    quote = new_quote(
        uow_factory,
        world,
        QuoteLineIn(product_id=world.server.id, quantity=Decimal(3), discount_percent=Decimal("7.5")),
        QuoteLineIn(product_id=world.service.id, quantity=Decimal(7), discount_percent=Decimal("12.5")),
    )
    return quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)


def _text_and_fonts(content: bytes) -> tuple[str, list[dict[str, Any]]]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            fonts.append(
                {"name": str(font["/BaseFont"]), "descriptor": descendant["/FontDescriptor"].get_object()}
            )
    return text, fonts


def test_the_pdf_shows_the_chinese_customer_products_and_exact_totals(
    uow_factory: UowFactory, world: QuoteWorld
):
    quote = _quote(uow_factory, world)

    _, content = quotes.quote_pdf(uow_factory(), world.rep.actor, quote.id, "zh_CN")

    text, fonts = _text_and_fonts(content)
    assert content.startswith(b"%PDF-")
    for expected in (
        COMPANY,
        "云服务器 标准版",
        "实施服务",
        "报价单",
        quote.number,
        "104.54",  # 3 × 33.335 less 7.5 %, plus 13 % tax
        "12,985.00",  # 7 × 2,000 less 12.5 %, plus 6 % tax
        "14,100.01",  # subtotal
        "1,757.50",  # discount
        "13,089.54",  # total
    ):
        assert expected in text, expected
    assert quote.total == Decimal("13089.54")
    # The CJK font is embedded (a subset), so any reader shows the Chinese text.
    assert fonts and all("/FontFile2" in font["descriptor"] for font in fonts)
    assert any("WenQuanYi" in font["name"] or "Noto" in font["name"] for font in fonts)


def test_the_pdf_speaks_the_readers_language(uow_factory: UowFactory, world: QuoteWorld):
    quote = _quote(uow_factory, world)

    _, content = quotes.quote_pdf(uow_factory(), world.rep.actor, quote.id, "en")

    text, _ = _text_and_fonts(content)
    assert "Quotation" in text and "Total" in text and COMPANY in text


def test_a_missing_font_is_a_clear_error(
    uow_factory: UowFactory, world: QuoteWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
):
    quote = _quote(uow_factory, world)
    monkeypatch.setenv("LOOPCRM_PDF_FONT", str(tmp_path / "no-such-font.ttf"))

    with pytest.raises(quotes.PdfFontMissing) as refused:
        quotes.quote_pdf(uow_factory(), world.rep.actor, quote.id)

    assert "fonts-wqy-microhei" in refused.value.message


@pytest.fixture
def mail_worker(engine: Engine, settings: Settings, smtp_server: SmtpServer) -> Worker:
    mail_settings = settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "base_url": "https://crm.example.com",
        }
    )
    return Worker(create_session_factory(engine), mail_settings, run_scheduler=False)


def _run_jobs(worker: Worker) -> int:
    count = 0
    while worker.run_once():
        count += 1
    return count


def test_sending_emails_the_pdf_and_a_public_link_to_the_contact_and_logs_it_on_the_deal(
    uow_factory: UowFactory, world: QuoteWorld, smtp_server: SmtpServer, mail_worker: Worker
):
    import loopcrm.modules.sales.quotes.jobs  # noqa: F401 (registers the send task for the worker)

    quote = _quote(uow_factory, world)

    sent = quotes.send_quote(uow_factory(), world.rep.actor, quote.id, locale="zh_CN")

    assert sent.status is QuoteStatus.SENT
    assert smtp_server.messages == []  # nothing leaves before the job runs, after commit
    assert _run_jobs(mail_worker) >= 1
    assert len(smtp_server.messages) == 1
    _sender, recipients, raw = smtp_server.messages[0]
    assert recipients == ["li.na@yunshan.example.com"]
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert quote.number in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "13,089.54 CNY" in text
    found = re.search(r"https://crm\.example\.com/q/[A-Za-z0-9_-]+", text)
    assert found is not None
    link = found.group(0)
    attachments = list(message.iter_attachments())
    assert [part.get_filename() for part in attachments] == [f"{quote.number}-v1.pdf"]
    pdf_text, _ = _text_and_fonts(attachments[0].get_content())
    assert COMPANY in pdf_text and "13,089.54" in pdf_text
    # The emailed link opens the quote.
    token = link.rsplit("/", 1)[1]
    assert quotes.get_public_quote(uow_factory(), token).id == quote.id
    # The email is logged on the opportunity.
    logged = activities.list_activities(
        uow_factory(),
        world.rep.actor,
        ActivityFilter(subject=f"opportunity:{world.deal_id}"),
        limit=10,
        cursor=None,
    ).items
    assert [(activity.kind.value, activity.email.to if activity.email else None) for activity in logged] == [
        ("email", ["li.na@yunshan.example.com"])
    ]


def test_a_quote_whose_contact_has_no_email_is_not_sent(uow_factory: UowFactory, world: QuoteWorld):
    from loopcrm.modules.sales.quotes.schemas import QuoteUpdate

    quote = new_quote(uow_factory, world, QuoteLineIn(product_id=world.service.id))
    quotes.update_quote(uow_factory(), world.rep.actor, quote.id, QuoteUpdate(contact_id=None))
    quote = quotes.submit_quote(uow_factory(), world.rep.actor, quote.id)

    with pytest.raises(ValidationFailed) as refused:
        quotes.send_quote(uow_factory(), world.rep.actor, quote.id)

    assert refused.value.errors[0].field == "contact_id"
    assert quotes.get_quote(uow_factory(), world.rep.actor, quote.id).status is QuoteStatus.APPROVED
