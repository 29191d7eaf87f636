"""The identity graph of the CDP: profiles, their versioned identities, merges and unmerges.

Messages from the event log are resolved to profiles by the deterministic rules of
CDP_CONTRACT.md; see ``docs/adr/0010-identity-graph.md`` for why the graph is built this way.
Use it through :mod:`loopcrm.modules.cdp.identity.service`.
"""
