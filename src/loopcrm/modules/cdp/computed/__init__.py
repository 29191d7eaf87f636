"""Computed traits of CDP profiles: first and last seen, event counts over windows, orders, spend
and channels, kept current by a consumer of the event log.

The consumer (``consume_event_log`` in :mod:`.aggregation`, run by the ``cdp.compute_traits``
job) folds each attributed event into compact per-profile aggregates — one row per profile, day,
event and channel, one row per order — so a window of 7, 30 or 90 days is a sum over a few rows,
never a scan of the log. Aggregates are kept per *attributed* profile and summed over
``profile_ids_of`` when read, so merges and unmerges need no recomputation.
Use it through :mod:`loopcrm.modules.cdp.computed.service`.
"""
