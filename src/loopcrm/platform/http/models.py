"""Tables of the HTTP layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from loopcrm.platform.db import Base, new_id, utc_now


class IdempotentRequest(Base):
    """The stored outcome of a POST sent with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotent_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal: Mapped[str] = mapped_column(String(64))  # digest of the credentials that sent it
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # digest of method, path and body
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)  # None while running
    response_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotent_requests_principal_key"),)
