"""Pages of event sources: their live counters, write keys and dead letters."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.models import ChannelType
from loopcrm.modules.cdp.schemas import SourceCreate, SourceCreated, SourceUpdate
from loopcrm.platform.errors import StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, require
from loopcrm.platform.web.flash import FlashLevel
from loopcrm.platform.web.forms import FormState
from loopcrm.platform.web.pages import Form, Viewer, WebPage, redirect, render, web_router

router = web_router()

SOURCE_FIELDS = ("name", "channel", "allowed_origins", "rate_limit_per_second")
DEAD_LETTER_PAGE_SIZE = 20
# The source page fetches its counters again this often (htmx polling): a client's events show
# within seconds, and an open page costs one small query every few seconds.
COUNTER_REFRESH_SECONDS = 5
# Channel names as the pages show them (English msgids).
CHANNEL_NAMES: dict[str, str] = {
    ChannelType.WEB.value: N_("Website"),
    ChannelType.APP.value: N_("Mobile app"),
    ChannelType.MINI_PROGRAM.value: N_("Mini program"),
    ChannelType.ECOMMERCE.value: N_("E-commerce"),
    ChannelType.EMAIL.value: N_("Email"),
    ChannelType.SMS.value: N_("SMS"),
    ChannelType.SERVER.value: N_("Server"),
    ChannelType.OTHER.value: N_("Other"),
}


# What the website snippet shows in place of the write key once the key is no longer on screen.
WRITE_KEY_PLACEHOLDER = "YOUR_WRITE_KEY"
# Segment's analytics.js snippet (version 5.2.0), with the script and its chunks (``_cdn``) and the
# settings and events (``Segment.io`` apiHost) all pointing at this server instead of Segment's.
_WEB_SNIPPET = (
    "<script>\n"
    '  !function(){{var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initial'
    'ize)if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet i'
    'ncluded twice.");else{{analytics.invoked=!0;analytics.methods=["trackSubmit","trackClick'
    '","trackLink","trackForm","pageview","identify","reset","group","track","ready","alias",'
    '"debug","page","screen","once","off","on","addSourceMiddleware","addIntegrationMiddlewar'
    'e","setAnonymousId","addDestinationMiddleware","register"];analytics.factory=function(e)'
    "{{return function(){{if(window[i].initialized)return window[i][e].apply(window[i],argume"
    'nts);var n=Array.prototype.slice.call(arguments);if(["track","screen","alias","group","p'
    'age","identify"].indexOf(e)>-1){{var c=document.querySelector("link[rel=\'canonical\']");n'
    '.push({{__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.hre'
    "f,s:location.search,t:document.title,r:document.referrer}})}}n.unshift(e);analytics.push"
    "(n);return analytics}}}};for(var n=0;n<analytics.methods.length;n++){{var key=analytics."
    "methods[n];analytics[key]=analytics.factory(key)}}analytics.load=function(key,n){{var t="
    'document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute("dat'
    'a-global-segment-analytics-key",i);t.src=analytics._cdn+"/analytics.js/v1/"+key+"/analyt'
    'ics.min.js";var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t'
    ",r);analytics._loadOptions=n}};analytics._writeKey={key};analytics._cdn={cdn};analytics."
    'SNIPPET_VERSION="5.2.0";\n'
    '  analytics.load({key},{{integrations:{{"Segment.io":{{apiHost:{api_host},protocol:{protocol}}}}}}});\n'
    "  analytics.page();\n"
    "  }}}}();\n"
    "</script>"
)


def web_tracking_snippet(base_url: str, write_key: str) -> str:
    """The snippet a website pastes into its pages: analytics.js loaded from LoopCRM at
    ``base_url``, sending its settings request and events there too (never to a CDN)."""
    parts = urlsplit(base_url)
    return _WEB_SNIPPET.format(
        key=json.dumps(write_key),
        cdn=json.dumps(f"{parts.scheme}://{parts.netloc}"),
        api_host=json.dumps(f"{parts.netloc}/v1"),
        protocol=json.dumps(parts.scheme),
    )


def _origins(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


@router.get("/cdp")
def list_sources(request: Request, page: Viewer) -> Response:
    sources = cdp.list_sources(page.uow(), page.actor, limit=500, cursor=None).items
    counters = {source.id: cdp.source_counters(page.uow(), page.actor, source.id) for source in sources}
    return render(
        request,
        "cdp/sources.html",
        {
            "sources": sources,
            "counters": counters,
            "channel_names": CHANNEL_NAMES,
            "may_create": page.actor.can(cdp.SOURCE.key, Action.CREATE),
        },
    )


def _new_form(request: Request, page: WebPage, form: FormState, status_code: int = 200) -> Response:
    # The select shows its labels as given: translate them for the reader here.
    choices = [(key, page.gettext(name)) for key, name in CHANNEL_NAMES.items()]
    return render(
        request,
        "cdp/source_new.html",
        {"form": form, "channel_choices": choices},
        status_code=status_code,
    )


@router.get("/cdp/sources/new")
def new_source(request: Request, page: Viewer) -> Response:
    require(page.actor, cdp.SOURCE.key, Action.CREATE)
    return _new_form(request, page, FormState(fields=frozenset(SOURCE_FIELDS)))


@router.post("/cdp/sources")
def create_source(request: Request, page: Viewer, form: Form) -> Response:
    state = FormState.submitted(form, SOURCE_FIELDS)
    try:
        data = SourceCreate.model_validate(
            {
                "name": state.text("name"),
                "channel": state.text("channel"),
                "allowed_origins": _origins(state.text("allowed_origins")),
                "rate_limit_per_second": state.optional("rate_limit_per_second"),
            }
        )
        created = cdp.create_source(page.uow(), page.actor, data)
    except (ValidationError, ValidationFailed) as error:
        state.add_refusal(error, page.translator)
        return _new_form(request, page, state, status_code=422)
    return _source_page(request, page, created.id, created=created, status_code=201)


def _source_page(
    request: Request,
    page: WebPage,
    source_id: str,
    *,
    created: SourceCreated | None = None,
    status_code: int = 200,
) -> Response:
    source = cdp.get_source(page.uow(), page.actor, source_id)
    context: dict[str, Any] = {
        "source": source,
        "created": created,
        "counters": cdp.source_counters(page.uow(), page.actor, source_id),
        "counter_refresh_seconds": COUNTER_REFRESH_SECONDS,
        "channel_names": CHANNEL_NAMES,
        "may_update": page.actor.can(cdp.SOURCE.key, Action.UPDATE),
        "may_read_events": page.actor.can(cdp.EVENT.key, Action.READ),
        "dead_letters": [],
        "web_snippet": None,
        "base_url": str(request.base_url).rstrip("/"),
    }
    if source.channel is ChannelType.WEB:
        key = created.write_key if created is not None else WRITE_KEY_PLACEHOLDER
        context["web_snippet"] = web_tracking_snippet(context["base_url"], key)
    if context["may_read_events"]:
        context["dead_letters"] = cdp.list_dead_letters(
            page.uow(), page.actor, source_id, limit=DEAD_LETTER_PAGE_SIZE, cursor=None
        ).items
    return render(request, "cdp/source.html", context, status_code=status_code)


@router.get("/cdp/sources/{source_id}")
def show_source(request: Request, page: Viewer, source_id: str) -> Response:
    return _source_page(request, page, source_id)


@router.get("/cdp/sources/{source_id}/counters")
def source_counters(request: Request, page: Viewer, source_id: str) -> Response:
    """The counters panel of a source page, which htmx polls (an HTML fragment)."""
    source = cdp.get_source(page.uow(), page.actor, source_id)
    return render(
        request,
        "cdp/_counters.html",
        {
            "source": source,
            "created": None,
            "counters": cdp.source_counters(page.uow(), page.actor, source_id),
            "counter_refresh_seconds": COUNTER_REFRESH_SECONDS,
        },
    )


def _version(form: FormState) -> int | None:
    value = form.value("version")
    return int(value) if value.isdigit() else None


@router.post("/cdp/sources/{source_id}/enabled")
def switch_source(request: Request, page: Viewer, source_id: str, form: Form) -> Response:
    state = FormState.submitted(form, ("is_enabled", "version"))
    is_enabled = state.value("is_enabled") == "on"
    try:
        updated = cdp.update_source(
            page.uow(),
            page.actor,
            source_id,
            SourceUpdate(is_enabled=is_enabled),
            expected_version=_version(state),
        )
    except StaleVersion as error:
        page.flash(error.message, FlashLevel.ERROR)
        return redirect(request, f"/cdp/sources/{source_id}")
    if updated.is_enabled:
        page.flash(N_("The source {name} accepts events again."), name=updated.name)
    else:
        page.flash(N_("The source {name} is disabled: its write key is refused."), name=updated.name)
    return redirect(request, f"/cdp/sources/{source_id}")


@router.post("/cdp/sources/{source_id}/write-key")
def rotate_write_key(request: Request, page: Viewer, source_id: str, form: Form) -> Response:
    state = FormState.submitted(form, ("version",))
    try:
        rotated = cdp.rotate_write_key(page.uow(), page.actor, source_id, expected_version=_version(state))
    except StaleVersion as error:
        page.flash(error.message, FlashLevel.ERROR)
        return redirect(request, f"/cdp/sources/{source_id}")
    return _source_page(request, page, source_id, created=rotated)
