"""cdp: probabilistic matching runs, candidate pairs and the review queue

Revision ID: 20261204_cdp_matching
Revises: 20261203_cdp_profile_links
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

revision = "20261204_cdp_matching"
down_revision = "20261203_cdp_profile_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
