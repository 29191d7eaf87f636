"""Probabilistic matching of fragmented profiles (Fellegi–Sunter, with Splink on DuckDB).

The identity graph joins profiles that share an identifier; this package finds the ones that
do not — the same person under 王小明 and "Xiaoming Wang", with another phone — merges the
certain pairs and queues the rest for a person. Use it through
:mod:`loopcrm.modules.cdp.matching.service`; see ``docs/adr/0012-probabilistic-matching.md``.
"""
