"""The name order migration on a database that already holds contacts: the name indexes end in the
id, a city's contacts have an index newest first, PostgreSQL's text index holds the city; the
search and a city's searched list find the same contacts; downgrading restores the old indexes."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text
from tests.customers.test_search_speed_migration import _insert_contact, _uow_factory
from tests.support.migration_steps import downgrade_past, revision_before

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import ListQuery
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import system_actor

REVISION = "20261219_customers_name_order"


def _index_columns(engine: Engine, table: str) -> dict[str, list[str | None]]:
    return {index["name"]: index["column_names"] for index in inspect(engine).get_indexes(table)}


def _gin_definitions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = 'contacts' AND indexdef LIKE '% USING gin %'"
                )
            ).scalars()
        )


def test_upgrading_a_database_with_contacts(empty_engine: Engine) -> None:
    upgrade(empty_engine, revision_before(empty_engine, REVISION))
    _insert_contact(empty_engine, "c1", ("王芳", "wangfang", "wf"), "王芳 芳 wangfang fang wf")
    _insert_contact(empty_engine, "c2", ("王伟", "wangwei", "ww"), "王伟 伟 wangwei wei ww")

    upgrade(empty_engine)

    uow_factory = _uow_factory(empty_engine)
    actor = system_actor()
    found = [hit.id for hit in customers.search_customers(uow_factory(), actor, "w", limit=20)]
    listed = customers.list_contacts(
        uow_factory(),
        actor,
        ListQuery(q="王", filters=["city:eq:上海"], sort="full_name"),
        limit=50,
        cursor=None,
    )
    newest = customers.list_contacts(
        uow_factory(), actor, ListQuery(filters=["city:eq:上海"], sort="-created_at"), limit=50, cursor=None
    )
    contacts = _index_columns(empty_engine, "contacts")
    assert found == ["c2", "c1"]  # 王伟 < 王芳 in code point order; equal lengths
    assert [item.id for item in listed.items] == ["c2", "c1"]
    assert [item.id for item in newest.items] == ["c2", "c1"]  # equal times: id descending
    assert contacts["ix_contacts_full_name"] == ["full_name", "id"]
    assert contacts["ix_contacts_name_pinyin"] == ["name_pinyin", "id"]
    assert contacts["ix_contacts_name_initials"] == ["name_initials", "id"]
    assert contacts["ix_contacts_city_created_at"] == ["city", "created_at", "id"]
    assert _index_columns(empty_engine, "accounts")["ix_accounts_name"] == ["name", "id"]
    if empty_engine.dialect.name == "postgresql":
        [definition] = _gin_definitions(empty_engine)
        assert definition.startswith("CREATE INDEX ix_contacts_city_search_vector ON ")
        assert definition.endswith("USING gin (city, search_vector)")  # btree_gin's varchar_ops: the default


def test_downgrading_restores_the_previous_indexes(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    downgrade_past(empty_engine, REVISION)

    contacts = _index_columns(empty_engine, "contacts")
    assert "ix_contacts_city_created_at" not in contacts
    assert contacts["ix_contacts_name_initials"] == ["name_initials"]
    assert contacts["ix_contacts_full_name"] == ["full_name"]
    assert _index_columns(empty_engine, "accounts")["ix_accounts_name"] == ["name"]
    if empty_engine.dialect.name == "postgresql":
        assert [definition.split(" ON ")[0] for definition in _gin_definitions(empty_engine)] == [
            "CREATE INDEX ix_contacts_search_vector"
        ]
