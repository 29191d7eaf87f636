"""The composition root: builds the engine, session factory and job worker, and mounts the
platform's and every module's routers. Nothing else wires parts together."""

from __future__ import annotations

import asyncio
import atexit
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from loopcrm import __version__
from loopcrm.modules.activities.api import router as activities_api_router
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.api import ingestion_router as cdp_ingestion_router
from loopcrm.modules.cdp.api import router as cdp_api_router
from loopcrm.modules.customers.api import router as customers_api_router
from loopcrm.modules.sales.api import router as sales_api_router
from loopcrm.platform.audit.api import router as audit_router
from loopcrm.platform.auth.api import router as auth_router
from loopcrm.platform.db import create_database_engine, create_session_factory
from loopcrm.platform.http.health import router as health_router
from loopcrm.platform.http.idempotency import IdempotencyMiddleware
from loopcrm.platform.http.middleware import BodyLimitMiddleware, RequestIdMiddleware
from loopcrm.platform.http.problems import document_problem_responses, install_problem_handlers
from loopcrm.platform.jobs.api import router as jobs_router
from loopcrm.platform.jobs.worker import BackgroundWorker, Worker
from loopcrm.platform.notifications.api import router as notifications_api_router
from loopcrm.settings import Settings, load_settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
# The API routes that take a file (multipart/form-data): only their POST bodies may be as large
# as an upload (``Settings.max_upload_bytes``). tests/platform/test_api_conventions.py checks the
# list against the OpenAPI document.
UPLOAD_PATHS = frozenset(f"{API_PREFIX}{path}" for path in ("/imports", "/lead-imports", "/orders/imports"))


def build_api_router() -> APIRouter:
    """Every REST route under ``/api/v1``: the platform's, then each module's."""
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth_router)
    api.include_router(audit_router)
    api.include_router(jobs_router)
    api.include_router(customers_api_router)
    api.include_router(activities_api_router)
    api.include_router(notifications_api_router)
    api.include_router(cdp_api_router)
    api.include_router(sales_api_router)
    return api


def register_tasks() -> None:
    """Import every task module so their tasks are registered before a worker starts.

    Modules add the import of their ``jobs`` here.
    """
    import loopcrm.modules.activities.jobs
    import loopcrm.modules.cdp.computed.jobs
    import loopcrm.modules.cdp.identity.jobs
    import loopcrm.modules.cdp.matching.jobs
    import loopcrm.modules.customers.jobs
    import loopcrm.modules.sales.jobs
    import loopcrm.platform.housekeeping  # noqa: F401  (registers platform.housekeeping)


def _document_problems(app: FastAPI) -> None:
    """Publish the problem documents of the API in its OpenAPI schema (built once, on first use)."""
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problem_responses(build_openapi(), API_PREFIX)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _serve_api_docs(app: FastAPI) -> None:
    """Interactive API docs at /api/docs, with Swagger UI from the npm lockfile (static/vendor)."""

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="LoopCRM API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/img/favicon.svg",
        )


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the LoopCRM web application for ``settings`` (read from the environment if omitted)."""
    settings = settings or load_settings()
    engine = engine or create_database_engine(settings.resolved_database_url)
    session_factory = create_session_factory(engine)

    register_tasks()
    # The embedded default runs jobs in a thread of the web process; production runs
    # `loopcrm worker` processes instead (LOOPCRM_EMBEDDED_WORKER=false).
    background = (
        BackgroundWorker(Worker(session_factory, settings, embedded=True))
        if settings.embedded_worker
        else None
    )
    ingestion = cdp.Ingestion(
        session_factory,
        engine.url.render_as_string(hide_password=False),
        default_rate_limit_per_second=settings.cdp_rate_limit_events_per_second,
        max_queued_events=settings.cdp_max_queued_events,
        lock_timeout_seconds=settings.cdp_lock_timeout_seconds,
        acknowledge_timeout_seconds=settings.cdp_acknowledge_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if background is not None:
            background.start()
        yield
        await asyncio.to_thread(ingestion.stop)  # commit and answer what is queued
        if background is not None:
            await asyncio.to_thread(background.stop, settings.job_lease_seconds)

    app = FastAPI(
        title="LoopCRM",
        version=__version__,
        description=(
            "REST API of LoopCRM. Authenticate with a personal API token: `Authorization: Bearer <token>`."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served below from our own static files, never from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.secret_key = settings.resolved_secret_key()
    app.state.cdp_ingestion = ingestion

    install_problem_handlers(app)
    _document_problems(app)
    _serve_api_docs(app)
    app.include_router(health_router)
    app.include_router(cdp_ingestion_router)  # Segment's paths at the root (CDP_CONTRACT.md)
    app.include_router(build_api_router())
    # The web UI (pages, /static, page error handlers) after the API and its problem handlers.
    from loopcrm.modules import PRODUCT_MODULES
    from loopcrm.modules.activities import views as activities_views
    from loopcrm.modules.cdp import views as cdp_views
    from loopcrm.modules.customers import views as customers_views
    from loopcrm.modules.sales import views as sales_views
    from loopcrm.platform.notifications import views as notifications_views
    from loopcrm.platform.web.mount import install_web
    from loopcrm.platform.web.templating import add_template_directory

    add_template_directory(Path(customers_views.__file__).resolve().parents[1] / "templates")
    add_template_directory(Path(cdp_views.__file__).resolve().parents[1] / "templates")
    add_template_directory(Path(sales_views.__file__).resolve().parent / "templates")
    install_web(
        app,
        settings,
        PRODUCT_MODULES,
        module_routers=[
            customers_views.router,
            activities_views.router,
            notifications_views.router,
            cdp_views.router,
            sales_views.router,
        ],
    )

    # Middleware runs outermost-last-added: request id first, then the body limit, then idempotency.
    app.add_middleware(IdempotencyMiddleware, session_factory=session_factory)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(RequestIdMiddleware)
    return app


# How often a thread holding the GIL hands it over in the served process (see create_served_app).
SERVED_SWITCH_INTERVAL_SECONDS = 0.001


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """The application as ``loopcrm serve`` runs it, in each web process.

    Everything built here lives as long as the process and is frozen for the garbage collector
    (:func:`freeze_startup_objects`): walking it cost about a third of the time spent reading
    events (docs/benchmarks.md).

    The request handlers share the GIL with the event writer's and the jobs' threads. Python hands
    it over every 5 ms by default, so a handler that wanted it back waited up to that long, several
    times a request: at 20,000 events/s the median p99 of ``POST /v1/batch`` over a handful of
    runs fell from 60 ms to 30 ms with 1 ms (docs/benchmarks.md, ADR 0016).
    """
    app = create_app(settings)
    freeze_startup_objects()
    sys.setswitchinterval(SERVED_SWITCH_INTERVAL_SECONDS)
    return app


def freeze_startup_objects() -> None:
    """Keep the garbage collector from walking what a long-running process built at startup
    (modules, routes, catalogues: some 400,000 objects in ``serve``, 500,000 in ``worker``).

    A full collection walks every tracked object, and work that allocates a lot triggers them
    often: event ingestion in the web process, an import's steps in the worker (a tenth of an
    import's time; docs/benchmarks.md). Tests build many applications in one process and must not
    freeze each one's garbage, so only ``serve`` and ``worker`` call this, once ready. They are
    unfrozen at exit, so that shutdown collects them: extension modules (duckdb's) otherwise report
    their objects as leaked.
    """
    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)
