"""cdp: profiles linked to CRM contacts and accounts (filled in by the contact-linking work)

Revision ID: 20261203_cdp_profile_links
Revises: 20261202_cdp_identity
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

revision = "20261203_cdp_profile_links"
down_revision = "20261202_cdp_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
