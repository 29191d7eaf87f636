"""``orders_text_by_code_point``: whether an index range ``prefix <= value < next`` holds exactly the
values beginning with ``prefix``, so the search may leave out its ``LIKE`` check."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from tests.conftest import POSTGRES_URL

from loopcrm.platform.db import create_database_engine, orders_text_by_code_point
from loopcrm.platform.unit_of_work import UnitOfWork

# In code-point order 'áb' (U+00E1) sorts after every string beginning with 'a'; a language's
# collation puts it beside 'ab', inside the range of the prefix 'ab'.
IN_RANGE = "SELECT 'áb' >= 'ab' AND 'áb' < 'ac'"


def test_the_suite_database_orders_text_by_code_point(uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        assert orders_text_by_code_point(uow.session) is True
        assert uow.session.scalar(text(IN_RANGE)) in (False, 0)


@pytest.fixture
def language_ordered_engine() -> Iterator[Engine]:
    """A PostgreSQL database of its own whose collation is ICU's English."""
    name = f"{make_url(POSTGRES_URL).database}_icu_order"
    admin = create_database_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    engine = create_database_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    admin.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="a collation of its own needs a PostgreSQL database")
def test_a_language_collation_does_not(language_ordered_engine: Engine) -> None:
    with Session(language_ordered_engine) as session:
        assert session.scalar(text(IN_RANGE)) is True
        assert orders_text_by_code_point(session) is False
