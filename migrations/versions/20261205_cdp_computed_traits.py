"""cdp: computed traits per profile and erasure records

Revision ID: 20261205_cdp_computed_traits
Revises: 20261204_cdp_matching
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

revision = "20261205_cdp_computed_traits"
down_revision = "20261204_cdp_matching"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
