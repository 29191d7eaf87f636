"""Data-subject rights over CDP profiles: export everything held about a person as JSON, and
erase it, leaving only a record of ids and counts. Use it through
:mod:`loopcrm.modules.cdp.privacy.service`."""
