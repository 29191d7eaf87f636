"""Sales flow (PRODUCT.md modules 3–4): leads → opportunities → quotes → orders, pipelines and
their kanban, products and price lists, lead assignment, win probability and the sales dashboard.

One sub-package per area, each with the roles of ARCHITECTURE.md (models, schemas, service, and
entry points gathered by ``sales.api`` and ``sales.views``):

* ``opportunities``: pipelines, stages, lost reasons, currencies, opportunities and stage history
* ``leads``: leads, lead scoring, the public web form, duplicate check, conversion
* ``quotes``: products, price lists, quotes with versions, approval, PDF, the customer's link
* ``orders``: orders from accepted quotes, the API and imports; purchase history
* ``assignment``: assignment rules, round robin / load / capacity, availability of reps
* ``forecasting``: win probability (naive Bayes), targets and the sales dashboard
"""
