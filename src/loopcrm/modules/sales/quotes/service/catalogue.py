"""Use cases of the catalogue: products and price lists, and the price a quote line gets.

A price list is in one currency and applies either to the accounts carrying its customer tag, or,
as the currency's default list (no tag), to every other account. At most one active default list
per currency (refused otherwise, so "the default" is never ambiguous).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.customers import service as customers
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.quotes.models import PriceList, PriceListEntry, Product
from loopcrm.modules.sales.quotes.schemas import (
    PriceEntryIn,
    PriceEntryOut,
    PriceListCreate,
    PriceListOut,
    PriceListUpdate,
    PriceOut,
    ProductCreate,
    ProductOut,
    ProductUpdate,
)
from loopcrm.modules.sales.quotes.service.object_types import PRODUCT
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change
from loopcrm.platform.errors import FieldError, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import Action, Actor, require
from loopcrm.platform.unit_of_work import JoinedUnitOfWork, UnitOfWork

_PRODUCT_COLUMNS = ("sku", "name", "unit", "category", "description", "default_tax_rate", "is_active")


def flush(session: Session) -> None:
    """Write pending changes; a concurrent edit is :class:`StaleVersion`, a SKU taken meanwhile a
    field error."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion() from None
    except IntegrityError as error:
        if "sku" in str(error.orig).lower():
            raise ValidationFailed.single(
                "sku", "A product with this SKU already exists", "duplicate"
            ) from None
        raise


def check_version(record: Product | PriceList, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise StaleVersion()


# ---------------------------------------------------------------- products


def product_out(product: Product) -> ProductOut:
    return ProductOut(
        id=product.id,
        sku=product.sku,
        name=product.name,
        unit=product.unit,
        category=product.category,
        description=product.description,
        default_tax_rate=product.default_tax_rate,
        is_active=product.is_active,
        created_at=product.created_at,
        updated_at=product.updated_at,
        version=product.version,
    )


def _sku_taken(session: Session, sku: str, except_id: str | None = None) -> bool:
    statement = select(Product.id).where(func.lower(Product.sku) == sku.lower())
    if except_id is not None:
        statement = statement.where(Product.id != except_id)
    return session.scalar(statement) is not None


def _values(product: Product) -> dict[str, Any]:
    return {name: getattr(product, name) for name in _PRODUCT_COLUMNS}


def create_product(uow: UnitOfWork, actor: Actor, data: ProductCreate) -> ProductOut:
    """Add a product to the catalogue; SKUs are unique regardless of case."""
    require(actor, PRODUCT.key, Action.CREATE)
    with uow:
        session = uow.session
        if _sku_taken(session, data.sku):
            raise ValidationFailed.single("sku", "A product with this SKU already exists", "duplicate")
        product = Product(
            **{name: getattr(data, name) for name in _PRODUCT_COLUMNS},
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(product)
        flush(session)
        record_change(uow, actor, AuditAction.CREATE, PRODUCT.key, product.id, diff({}, _values(product)))
        result = product_out(product)
        uow.commit()
        return result


def _load_product(session: Session, product_id: str) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(N_("Product not found"))
    return product


def get_product(uow: UnitOfWork, actor: Actor, product_id: str) -> ProductOut:
    require(actor, PRODUCT.key, Action.READ)
    with uow:
        return product_out(_load_product(uow.session, product_id))


def update_product(
    uow: UnitOfWork,
    actor: Actor,
    product_id: str,
    data: ProductUpdate,
    *,
    expected_version: int | None = None,
) -> ProductOut:
    """Change the fields sent. Quotes already written keep their lines as they were."""
    require(actor, PRODUCT.key, Action.UPDATE)
    with uow:
        session = uow.session
        product = _load_product(session, product_id)
        check_version(product, expected_version)
        before = _values(product)
        given = data.model_fields_set
        if data.sku is not None and _sku_taken(session, data.sku, except_id=product.id):
            raise ValidationFailed.single("sku", "A product with this SKU already exists", "duplicate")
        for name in _PRODUCT_COLUMNS:
            if name not in given:
                continue
            value = getattr(data, name)
            if value is None and name in ("sku", "name", "unit", "default_tax_rate", "is_active"):
                continue  # required fields are not cleared
            setattr(product, name, value)
        changes = diff(before, _values(product))
        if changes:
            product.updated_by = actor.user_id
            flush(session)
            record_change(uow, actor, AuditAction.UPDATE, PRODUCT.key, product.id, changes)
        result = product_out(product)
        uow.commit()
        return result


def list_products(
    uow: UnitOfWork,
    actor: Actor,
    *,
    search: str | None = None,
    active_only: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ProductOut]:
    """Products newest first; ``search`` matches SKU, name or category."""
    require(actor, PRODUCT.key, Action.READ)
    with uow:
        statement = select(Product)
        if active_only:
            statement = statement.where(Product.is_active.is_(True))
        if search:
            pattern = f"%{search.strip().lower()}%"
            statement = statement.where(
                func.lower(Product.sku).like(pattern)
                | func.lower(Product.name).like(pattern)
                | func.lower(func.coalesce(Product.category, "")).like(pattern)
            )
        return paginate(uow.session, statement, Product.id, limit=limit, cursor=cursor, convert=product_out)


def products_by_id(session: Session, product_ids: Sequence[str]) -> dict[str, Product]:
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    return {product.id: product for product in session.scalars(select(Product).where(Product.id.in_(ids)))}


# ---------------------------------------------------------------- price lists


def _tag_names(uow: UnitOfWork, actor: Actor) -> dict[str, str]:
    try:
        return {tag.id: tag.name for tag in customers.list_tags(JoinedUnitOfWork(uow), actor)}
    except PermissionDenied:  # a reader without the tags right still sees the list, without tag names
        return {}


def price_list_out(session: Session, price_list: PriceList, tag_names: dict[str, str]) -> PriceListOut:
    rows = session.execute(
        select(PriceListEntry, Product)
        .join(Product, Product.id == PriceListEntry.product_id)
        .where(PriceListEntry.price_list_id == price_list.id)
        .order_by(Product.sku)
    ).all()
    return PriceListOut(
        id=price_list.id,
        name=price_list.name,
        currency=price_list.currency,
        customer_tag_id=price_list.customer_tag_id,
        customer_tag_name=tag_names.get(price_list.customer_tag_id or ""),
        is_default=price_list.is_default,
        is_active=price_list.is_active,
        entries=[
            PriceEntryOut(
                product_id=product.id,
                sku=product.sku,
                product_name=product.name,
                unit=product.unit,
                unit_price=entry.unit_price,
            )
            for entry, product in rows
        ],
        created_at=price_list.created_at,
        updated_at=price_list.updated_at,
        version=price_list.version,
    )


def _check_price_list(
    uow: UnitOfWork,
    actor: Actor,
    price_list: PriceList,
    entries: Sequence[PriceEntryIn] | None,
) -> None:
    """The currency must be one of the core's active currencies, the tag must exist, a default
    list has no tag and is the only active default of its currency, every product exists once."""
    session = uow.session
    errors: list[FieldError] = []
    currencies = {currency.code for currency in opportunities.list_currencies(JoinedUnitOfWork(uow), actor)}
    if price_list.currency not in currencies:
        errors.append(
            FieldError("currency", N_("This currency is not set up in the sales settings"), "unknown")
        )
    if price_list.customer_tag_id is not None:
        if price_list.is_default:
            errors.append(
                FieldError(
                    "customer_tag_id", N_("A default price list applies to everyone: leave the tag empty")
                )
            )
        elif price_list.customer_tag_id not in _tag_names(uow, actor):
            errors.append(FieldError("customer_tag_id", N_("No tag has this id"), "unknown"))
    if price_list.is_default and price_list.is_active:
        other = session.scalar(
            select(PriceList.name).where(
                PriceList.currency == price_list.currency,
                PriceList.is_default.is_(True),
                PriceList.is_active.is_(True),
                PriceList.id != price_list.id,
            )
        )
        if other is not None:
            errors.append(
                FieldError(
                    "is_default",
                    N_("{name} is already the default price list of this currency"),
                    "duplicate",
                    {"name": other},
                )
            )
    if entries is not None:
        known = products_by_id(session, [entry.product_id for entry in entries])
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            if entry.product_id not in known:
                errors.append(FieldError(f"entries.{index}.product_id", N_("Product not found"), "unknown"))
            elif entry.product_id in seen:
                errors.append(
                    FieldError(
                        f"entries.{index}.product_id", N_("This product is already in the list"), "duplicate"
                    )
                )
            seen.add(entry.product_id)
    if errors:
        raise ValidationFailed(errors)


def _set_entries(session: Session, price_list_id: str, entries: Sequence[PriceEntryIn]) -> None:
    session.execute(delete(PriceListEntry).where(PriceListEntry.price_list_id == price_list_id))
    session.add_all(
        PriceListEntry(price_list_id=price_list_id, product_id=entry.product_id, unit_price=entry.unit_price)
        for entry in entries
    )


def _price_list_audit(out: PriceListOut) -> dict[str, Any]:
    return {
        "name": out.name,
        "currency": out.currency,
        "customer_tag_id": out.customer_tag_id,
        "is_default": out.is_default,
        "is_active": out.is_active,
        "entries": {entry.sku: str(entry.unit_price) for entry in out.entries},
    }


def create_price_list(uow: UnitOfWork, actor: Actor, data: PriceListCreate) -> PriceListOut:
    require(actor, PRODUCT.key, Action.CREATE)
    with uow:
        session = uow.session
        price_list = PriceList(
            name=data.name,
            currency=data.currency,
            customer_tag_id=data.customer_tag_id,
            is_default=data.is_default,
            is_active=data.is_active,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        _check_price_list(uow, actor, price_list, data.entries)
        session.add(price_list)
        flush(session)
        _set_entries(session, price_list.id, data.entries)
        flush(session)
        result = price_list_out(session, price_list, _tag_names(uow, actor))
        record_change(
            uow, actor, AuditAction.CREATE, PRODUCT.key, price_list.id, diff({}, _price_list_audit(result))
        )
        uow.commit()
        return result


def _load_price_list(session: Session, price_list_id: str) -> PriceList:
    price_list = session.get(PriceList, price_list_id)
    if price_list is None:
        raise NotFound(N_("Price list not found"))
    return price_list


def get_price_list(uow: UnitOfWork, actor: Actor, price_list_id: str) -> PriceListOut:
    require(actor, PRODUCT.key, Action.READ)
    with uow:
        return price_list_out(
            uow.session, _load_price_list(uow.session, price_list_id), _tag_names(uow, actor)
        )


def update_price_list(
    uow: UnitOfWork,
    actor: Actor,
    price_list_id: str,
    data: PriceListUpdate,
    *,
    expected_version: int | None = None,
) -> PriceListOut:
    require(actor, PRODUCT.key, Action.UPDATE)
    with uow:
        session = uow.session
        price_list = _load_price_list(session, price_list_id)
        check_version(price_list, expected_version)
        tag_names = _tag_names(uow, actor)
        before = _price_list_audit(price_list_out(session, price_list, tag_names))
        given = data.model_fields_set
        for name in ("name", "currency", "is_default", "is_active"):
            value = getattr(data, name)
            if name in given and value is not None:
                setattr(price_list, name, value)
        if "customer_tag_id" in given:
            price_list.customer_tag_id = data.customer_tag_id
        with session.no_autoflush:
            _check_price_list(uow, actor, price_list, data.entries)
        if data.entries is not None:
            _set_entries(session, price_list.id, data.entries)
        price_list.updated_by = actor.user_id
        flush(session)
        result = price_list_out(session, price_list, tag_names)
        changes = diff(before, _price_list_audit(result))
        if changes:
            record_change(uow, actor, AuditAction.UPDATE, PRODUCT.key, price_list.id, changes)
        uow.commit()
        return result


def list_price_lists(uow: UnitOfWork, actor: Actor) -> list[PriceListOut]:
    """Every price list by currency and name (lists are few: a vocabulary, not data)."""
    require(actor, PRODUCT.key, Action.READ)
    with uow:
        session = uow.session
        tag_names = _tag_names(uow, actor)
        lists = session.scalars(select(PriceList).order_by(PriceList.currency, PriceList.name))
        return [price_list_out(session, price_list, tag_names) for price_list in lists]


# ---------------------------------------------------------------- which price applies


def applicable_price_lists(
    session: Session, currency: str, account_tag_ids: Sequence[str]
) -> list[PriceList]:
    """The active lists of ``currency`` that apply to an account with these tags, in the order they
    are asked for a price: the lists of the account's tags (by name), then the currency's default."""
    lists = list(
        session.scalars(
            select(PriceList)
            .where(PriceList.currency == currency, PriceList.is_active.is_(True))
            .order_by(PriceList.name, PriceList.id)
        )
    )
    tagged = [
        item for item in lists if item.customer_tag_id is not None and item.customer_tag_id in account_tag_ids
    ]
    defaults = [item for item in lists if item.is_default and item.customer_tag_id is None]
    return tagged + defaults


def price_from(
    session: Session, price_lists: Sequence[PriceList], product_id: str
) -> tuple[Decimal, PriceList] | None:
    """The first of ``price_lists`` that prices the product, with its price."""
    if not price_lists:
        return None
    prices = dict(
        session.execute(
            select(PriceListEntry.price_list_id, PriceListEntry.unit_price).where(
                PriceListEntry.product_id == product_id,
                PriceListEntry.price_list_id.in_([item.id for item in price_lists]),
            )
        ).all()
    )
    for item in price_lists:
        if item.id in prices:
            return prices[item.id], item
    return None


def account_tag_ids(uow: UnitOfWork, actor: Actor, account_id: str | None) -> list[str]:
    """The tags of the account (empty when there is none, or the reader may not read it: then only
    the default list applies)."""
    if account_id is None:
        return []
    try:
        account = customers.get_account(JoinedUnitOfWork(uow), actor, account_id)
    except (NotFound, PermissionDenied):
        return []
    return [tag.id for tag in account.tags]


def price_for(
    uow: UnitOfWork, actor: Actor, product_id: str, *, currency: str, account_id: str | None = None
) -> PriceOut:
    """The unit price a quote line for ``product_id`` gets by default for this account and currency."""
    require(actor, PRODUCT.key, Action.READ)
    with uow:
        session = uow.session
        _load_product(session, product_id)
        lists = applicable_price_lists(session, currency, account_tag_ids(uow, actor, account_id))
        found = price_from(session, lists, product_id)
        return PriceOut(
            product_id=product_id,
            currency=currency,
            unit_price=found[0] if found else None,
            price_list_id=found[1].id if found else None,
            price_list_name=found[1].name if found else None,
        )
