"""Pages of the activities module, and the parts other modules' pages include.

Pages: ``/activities`` (my tasks, overdue first), ``/activities/calendar`` (week or month),
``/activities/new`` (log an activity; also the panel's page without script), ``/activities/<id>``
(detail and edit). Fragments for htmx: ``/activities/timeline`` (a timeline section or its next
entries) and ``/activities/new?fragment=panel`` (the log panel for another kind).

**Including the timeline and the log panel in another module's page** (customers' account and
contact pages): build the data with the service's helpers and include the templates::

    # views: only the activities *service* may be imported
    from loopcrm.modules.activities import service as activities

    context["timeline"] = activities.timeline_section(
        page.uow(), page.actor, [("contact", contact.id)], kinds=request.query_params.getlist("kind")
    )
    context["activity_panel"] = activities.log_panel(
        page.uow(), page.actor, [("contact", contact.id)], next_path=f"/customers/contacts/{contact.id}"
    )

    {# template #}
    {% include "activities/log_panel.html" %}
    {% include "activities/timeline.html" %}

The panel posts to ``/activities`` with hidden ``subject_type``/``subject_id`` inputs and
``next``; success returns to ``next`` with a flash message, refused input shows the form again
on ``/activities/new`` with the input kept and the fields marked. The timeline's filter chips
and "load more" fetch from ``timeline.base_path`` (by default ``/activities/timeline``, which
checks the reader may read each record; pass your own ``base_path`` for an account with its
contacts, answering with ``activities/timeline_fragment.html``).
"""

from __future__ import annotations

from pathlib import Path

from loopcrm.platform.web.pages import web_router
from loopcrm.platform.web.templating import add_template_directory

router = web_router()
add_template_directory(Path(__file__).resolve().parent.parent / "templates")

from loopcrm.modules.activities.views import agenda, records  # noqa: E402,F401 -- their routes join the router

__all__ = ["router"]
