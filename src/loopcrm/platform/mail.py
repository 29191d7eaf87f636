"""Sending email over real SMTP. There is no fake transport: tests run a real local SMTP server."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from loopcrm.settings import Settings


@dataclass(frozen=True)
class Attachment:
    """A file sent along with an email (a quote's PDF, say)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"  # "type/subtype"


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to send; ``message_id`` doubles as its idempotency key for retries.

    ``to`` may name several addresses separated by commas; ``cc`` receive a copy, and replies go
    to ``reply_to`` when set (a user's address, while ``From`` stays the installation's own so
    that SPF and DMARC checks pass).
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None
    cc: tuple[str, ...] = ()
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()


class Mailer:
    """Sends email through the SMTP server named in the settings."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, email: OutgoingEmail) -> str:
        """Send one email and return its Message-ID."""
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = email.to
        if email.cc:
            message["Cc"] = ", ".join(email.cc)
        if email.reply_to:
            message["Reply-To"] = email.reply_to
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id or make_msgid(domain="loopcrm.local")
        message.set_content(email.text)
        if email.html is not None:
            message.add_alternative(email.html, subtype="html")
        for attachment in email.attachments:
            main_type, _, sub_type = attachment.mime_type.partition("/")
            message.add_attachment(
                attachment.content, maintype=main_type, subtype=sub_type, filename=attachment.filename
            )
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
        return str(message["Message-ID"])

    def send_text(self, to: str, subject: str, text: str) -> str:
        """Send a plain-text email."""
        return self.send(OutgoingEmail(to=to, subject=subject, text=text))
