"""The API application: /v1 routers, error handlers, limits, offline API docs.

The web pages are added to it by ``greffier.server``, which composes the process.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

import swagger_ui_bundle
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from greffier import __version__
from greffier.api import errors
from greffier.api.auth import require_key
from greffier.api.errors import documented
from greffier.api.headers import ApiSecurityHeaders
from greffier.api.limits import BodySizeLimit
from greffier.api.observability import RequestMetrics
from greffier.api.routes import (
    account,
    admin,
    audio,
    chat,
    documents,
    feedback,
    grants,
    health,
    hub,
    meetings,
    models,
    responses,
    search,
    tokens,
)
from greffier.errors import GreffierError
from greffier.http.inputs import reject_unstorable_text
from greffier.services.container import Services
from greffier.settings import Settings

log = logging.getLogger(__name__)


def create_api(settings: Settings, services: Services) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.meetings.apply_retention()
        if services.jobs is not None:
            resumed = services.jobs.start(asyncio.get_running_loop())
            if resumed:
                log.info("Resumed %d unfinished job(s)", len(resumed))
        if settings.preload_default_model:
            try:
                await services.registry.chat_backend(settings.default_model).load()
                log.info("Default model %s loaded", settings.default_model)
            except GreffierError as exc:
                log.error("Default model not loaded: %s", exc.full_message)
        yield
        await services.close()

    app = FastAPI(
        title="Greffier",
        version=__version__,
        description="OpenAI-compatible API of a self-hosted Greffier server.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.serves_api_docs else None,
        lifespan=lifespan,
        # No OpenTelemetry export unless the operator asks for it (setting telemetry_export):
        # an explicit value here wins over FASTAPI_OTEL_AUTO_CONFIGURE in the environment.
        telemetry={"auto_configure": settings.telemetry_export},
    )
    app.state.services = services
    errors.install(app)
    # Every /v1 operation: the caller first (401, quota 429), then text that cannot be stored
    # (400); each router adds the statuses its operations can also answer.
    keyed = [Depends(require_key), Depends(reject_unstorable_text)]
    for router in (
        models.router,
        chat.router,
        responses.router,
        feedback.router,
        documents.router,
        search.router,
        tokens.router,
        admin.router,
        audio.router,
        meetings.router,
        grants.router,
        account.router,
        hub.router,
    ):
        app.include_router(router, dependencies=keyed, responses=documented(400, 401, 429))
    app.include_router(health.router)
    if settings.serves_api_docs:
        # Swagger UI from the installed package, never from a CDN: the docs work air-gapped.
        app.mount(
            "/static/swagger",
            StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
            name="swagger",
        )

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url=app.openapi_url,
                title="Greffier API",
                swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                swagger_css_url="/static/swagger/swagger-ui.css",
                swagger_favicon_url="/static/swagger/favicon-32x32.png",
            )

    def openapi() -> dict:
        if app.openapi_schema is None:
            audio.state_speech_limit(FastAPI.openapi(app), settings.max_speech_characters)
        return app.openapi_schema

    app.openapi = openapi

    app.add_middleware(ApiSecurityHeaders)
    app.add_middleware(RequestMetrics, metrics=services.metrics)
    # A request id for every request (the client's X-Request-ID, or a new one), in the logs
    # and passed on to upstream model servers.
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID", validator=None)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        # Uploads may carry a whole document; everything else stays small.
        upload_bytes=settings.max_upload_bytes,
    )
    return app
