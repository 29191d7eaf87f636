"""Leads (销售线索): capture by web form, API and import, scoring, duplicate check, conversion."""
