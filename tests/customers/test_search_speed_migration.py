"""The search speed migration upgrades a database that already holds customers: on PostgreSQL the
stored text vector is filled for every existing record (and kept for new ones), so the global
search and list searches find them; on both databases the new list indexes exist; downgrading
restores the expression index the previous code searched through."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, inspect, text
from tests.support.migration_steps import downgrade_past, revision_before

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ListQuery
from loopcrm.platform.db import create_session_factory
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

REVISION = "20261202_customers_search_speed"


def _insert_contact(engine: Engine, record_id: str, names: tuple[str, str, str], search_text: str) -> None:
    full_name, pinyin, initials = names
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO contacts (id, family_name, given_name, full_name, name_pinyin, name_initials, "
                "gender, city, email_opt_in, sms_opt_in, wechat_opt_in, custom_fields, name_key, "
                "search_text, created_at, updated_at, version) VALUES (:id, '', '', :name, :pinyin, "
                ":initials, 'unknown', '上海', false, false, false, '{}', :name, :search_text, :now, :now, 1)"
            ),
            {
                "id": record_id,
                "name": full_name,
                "pinyin": pinyin,
                "initials": initials,
                "search_text": search_text,
                "now": "2026-11-01 00:00:00",
            },
        )


def test_upgrading_fills_the_search_vector_of_existing_records_and_adds_the_list_indexes(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine, revision_before(empty_engine, REVISION))
    _insert_contact(empty_engine, "c1", ("王芳", "wangfang", "wf"), "王芳 芳 wangfang fang wf")
    _insert_contact(empty_engine, "c2", ("Emma Smith", "", ""), "emma smith")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO accounts (id, name, operating_status, custom_fields, name_key, search_text, "
                "created_at, updated_at, version) VALUES ('a1', '晨光文具', 'active', '{}', '晨光文具', "
                "'晨光文具 光文具 文具 具 chenguangwenju cgwj', '2026-11-01 00:00:00', "
                "'2026-11-01 00:00:00', 1)"
            )
        )

    upgrade(empty_engine)
    _insert_contact(empty_engine, "c3", ("王伟", "wangwei", "ww"), "王伟 伟 wangwei wei ww")

    uow_factory = _uow_factory(empty_engine)
    actor = system_actor()
    hits = {
        q: [
            (hit.id, hit.match.value) for hit in customers.search_customers(uow_factory(), actor, q, limit=20)
        ]
        for q in ("wang", "smi", "文具", "wf")
    }
    listed = customers.list_contacts(
        uow_factory(),
        actor,
        ListQuery(q="王", filters=["city:eq:上海"], sort="full_name"),
        limit=50,
        cursor=None,
    )
    indexes = {index["name"] for index in inspect(empty_engine).get_indexes("contacts")}

    assert hits == {
        "wang": [("c3", "name"), ("c1", "name")],
        "smi": [("c2", "name")],
        "文具": [("a1", "partial")],
        "wf": [("c1", "name")],
    }
    assert [item.id for item in listed.items] == ["c3", "c1"]  # 王伟 < 王芳 in code point order
    assert {"ix_contacts_owner_updated_at", "ix_contacts_city_full_name"} <= indexes
    if empty_engine.dialect.name == "postgresql":
        with empty_engine.connect() as connection:
            vectors = connection.execute(
                text(
                    "SELECT id, search_vector = to_tsvector('simple', search_text), length(search_vector) "
                    "FROM contacts ORDER BY id"
                )
            ).all()
            gin_indexes = connection.execute(
                text(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND indexdef LIKE '% USING gin %' ORDER BY indexname"
                )
            ).scalars()
            assert vectors == [("c1", True, 5), ("c2", True, 2), ("c3", True, 5)]
            # At the newest revision the contacts' index holds the city too (20261219_customers_name_order).
            assert list(gin_indexes) == ["ix_accounts_search_vector", "ix_contacts_city_search_vector"]


def test_downgrading_restores_the_previous_indexes(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    downgrade_past(empty_engine, REVISION)

    indexes = {index["name"] for index in inspect(empty_engine).get_indexes("contacts")}
    columns = {column["name"] for column in inspect(empty_engine).get_columns("contacts")}
    assert "ix_contacts_owner_updated_at" not in indexes
    assert "ix_contacts_city_full_name" not in indexes
    assert "search_vector" not in columns
    if empty_engine.dialect.name == "postgresql":
        with empty_engine.connect() as connection:
            expression_indexes = connection.execute(
                text(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND indexdef LIKE '%to_tsvector(%' ORDER BY indexname"
                )
            ).scalars()
            assert list(expression_indexes) == ["ix_accounts_search", "ix_contacts_search"]


def _uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    session_factory = create_session_factory(engine)
    return lambda: UnitOfWork(session_factory)
