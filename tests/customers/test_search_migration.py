"""The search migration upgrades a database that already holds customers: search texts lose the
emails and WeChat ids older revisions put there, and the full-text index covers every record."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from loopcrm.platform.db import create_database_engine
from loopcrm.platform.migrations import alembic_config, upgrade

REVISION = "20261123_customers_search"


@pytest.mark.skipif(
    bool(os.environ.get("LOOPCRM_TEST_POSTGRES_URL")),
    reason="upgrades its own SQLite file from an older revision",
)
def test_upgrading_recomputes_search_texts_and_indexes_existing_records(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(REVISION).down_revision
    upgrade(engine, str(previous))
    now = "2026-11-01 00:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, name_en, credit_code, operating_status, custom_fields, "
                "name_key, search_text, created_at, updated_at, version) VALUES ('a1', '晨光文具', NULL, "
                "'91310000MA1K00000X', 'active', '{}', '晨光文具', "
                "'晨光文具 sales@chenguang.example.cn sales', :now, :now, 1)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO contacts (id, family_name, given_name, full_name, name_pinyin, name_initials, "
                "gender, wechat_id, email_opt_in, sms_opt_in, wechat_opt_in, custom_fields, name_key, "
                "search_text, created_at, updated_at, version) VALUES ('c1', '王', '芳', '王芳', 'wangfang', "
                "'wf', 'unknown', 'wf_wechat', 0, 0, 0, '{}', '王芳', "
                "'王芳 芳 wangfang fang wf wang.fang@example.com wang.fang wf_wechat', :now, :now, 1)"
            ),
            {"now": now},
        )

    upgrade(engine)

    with engine.connect() as connection:
        texts = dict(
            connection.execute(
                text("SELECT id, search_text FROM accounts UNION ALL SELECT id, search_text FROM contacts")
            ).all()
        )
        by_email = connection.execute(
            text("SELECT rowid FROM contacts_search WHERE contacts_search MATCH '\"example\"*'")
        ).all()
        by_name = connection.execute(
            text(
                "SELECT c.id FROM contacts c JOIN contacts_search s ON s.rowid = c.rowid "
                "WHERE contacts_search MATCH '\"芳\"*'"
            )
        ).all()
        by_code = connection.execute(
            text(
                "SELECT a.id FROM accounts a JOIN accounts_search s ON s.rowid = a.rowid "
                "WHERE accounts_search MATCH '\"91310000\"*'"
            )
        ).all()
    engine.dispose()

    assert texts == {
        "a1": "晨光文具 光文具 文具 具 chenguangwenju guangwenju wenju ju cgwj gwj wj 91310000ma1k00000x",
        "c1": "王芳 芳 wangfang fang wf",
    }
    assert by_email == []
    assert by_name == [("c1",)]
    assert by_code == [("a1",)]
