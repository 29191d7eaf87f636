"""A quote's PDF for a reader or for the customer's link, and the email that carries it.

The email job (``sales.quotes.send``, enqueued by ``send_quote``) renders the PDF, makes the
customer's public link (a fresh token whose hash replaces the one of an earlier attempt of the
same job, so the token is never stored in the job's payload) and sends both over SMTP. The
Message-ID is fixed per job, so a retry after a lost answer is recognisable as the same message.
"""

from __future__ import annotations

import logging
import smtplib
from email.utils import parseaddr
from typing import Any

from loopcrm.modules.sales.quotes.schemas import QuoteOut
from loopcrm.modules.sales.quotes.service import quotes
from loopcrm.modules.sales.quotes.service.object_types import QUOTE
from loopcrm.modules.sales.quotes.service.pdf import render_quote_pdf
from loopcrm.platform.i18n import N_, translator
from loopcrm.platform.jobs.registry import JobContext
from loopcrm.platform.mail import Attachment, Mailer, OutgoingEmail
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

EMAIL_TEXT = N_(
    "Dear {contact},\n\nplease find attached our quote {number} (version {version}) for {title}: "
    "{total} {currency}, valid until {valid_until}.\n\nYou can read it and accept or decline it "
    "here: {link}\n\nKind regards"
)


def pdf_file_name(quote: QuoteOut) -> str:
    return f"{quote.number}-v{quote.version_number}.pdf"


def quote_pdf(
    uow: UnitOfWork, actor: Actor, quote_id: str, locale: str | None = None
) -> tuple[QuoteOut, bytes]:
    """The quote and its PDF in ``locale`` (the reader's language by default)."""
    require(actor, QUOTE.key, Action.READ)
    quote = quotes.get_quote(uow, actor, quote_id)
    return quote, render_quote_pdf(quote, translator(locale or actor.locale))


def public_quote_pdf(uow: UnitOfWork, token: str, locale: str) -> tuple[QuoteOut, bytes]:
    """The PDF of the quote a public link names."""
    quote = quotes.get_public_quote(uow, token)
    return quote, render_quote_pdf(quote, translator(locale))


def _mail_domain(context: JobContext) -> str:
    return parseaddr(context.settings.mail_from)[1].rpartition("@")[2] or "loopcrm.local"


def deliver_quote_email(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    """The send job's work, inside its open unit of work: PDF, public link, SMTP."""
    found = quotes.quote_for_delivery(uow, payload["quote_id"], f"send:{context.job_id}")
    if found is None:
        log.warning("quote %s: not sent, it is gone or was replaced by a newer version", payload["quote_id"])
        return
    quote, token = found
    words = translator(payload.get("locale") or "zh_CN")
    link = f"{context.settings.base_url.rstrip('/')}{quotes.PUBLIC_PATH}{token}"
    text = words.message(
        EMAIL_TEXT,
        {
            "contact": quote.contact_name or quote.account_name or "",
            "number": quote.number,
            "version": quote.version_number,
            "title": quote.title,
            "total": f"{quote.total:,.2f}",
            "currency": quote.currency,
            "valid_until": quote.valid_until.isoformat(),
            "link": link,
        },
    )
    email = OutgoingEmail(
        to=payload["to"],
        subject=payload["subject"],
        text=text,
        reply_to=payload.get("reply_to") or None,
        message_id=f"<quote-{quote.id}-{context.job_id}@{_mail_domain(context)}>",
        attachments=(Attachment(pdf_file_name(quote), render_quote_pdf(quote, words), "application/pdf"),),
    )
    try:
        Mailer(context.settings).send(email)
    except (smtplib.SMTPException, OSError):
        log.warning("quote %s: sending failed on attempt %s", quote.id, context.attempt)
        raise
