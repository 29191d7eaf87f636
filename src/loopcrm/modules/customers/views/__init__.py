"""Pages of the customers module. Each area keeps its own router (records: lists, detail pages
and forms of accounts and contacts; admin, search, imports, duplicates); this package only
gathers them, and the composition root hands :data:`router` to ``install_web``.

Record pages take ids as ``{…:uuid}`` paths, so fixed paths beside them (``/customers/accounts/
export``, ``/new``) never read as an id, whatever the order of the includes below.
"""

from __future__ import annotations

from fastapi import APIRouter

from loopcrm.modules.customers.views import (
    account_picker,
    account_relationships,
    accounts,
    admin,
    contacts,
    duplicates,
    imports,
    record_timeline,
    records,
    search,
)

router = APIRouter()
router.include_router(records.router)
router.include_router(accounts.router)
router.include_router(contacts.router)
router.include_router(record_timeline.router)
router.include_router(account_relationships.router)
router.include_router(account_picker.router)
router.include_router(admin.router)
router.include_router(search.router)
router.include_router(duplicates.router)
router.include_router(imports.router)
