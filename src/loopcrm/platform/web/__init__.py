"""The web shell: server-rendered pages (Jinja2 + htmx) over the same services as the API.

Module views build on these parts (see ``docs/adr/0002-web-ui.md``):

* :func:`loopcrm.platform.web.pages.web_router` — a router whose routes need a signed-in reader
  (or ``public=True``) and check CSRF on unsafe requests;
* :data:`~loopcrm.platform.web.pages.Viewer` / :data:`~loopcrm.platform.web.pages.Form` — the
  reader of the page and the submitted form, as route parameters;
* :func:`~loopcrm.platform.web.pages.render` and :func:`~loopcrm.platform.web.pages.redirect`;
* :class:`~loopcrm.platform.web.forms.FormState` — input kept and errors under their fields;
* :func:`~loopcrm.platform.web.templating.add_template_directory` — a module's templates.

The composition root mounts everything with :func:`loopcrm.platform.web.mount.install_web`.
"""
