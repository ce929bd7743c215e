"""The process ``greffier serve`` runs: the API and the web interface over one set of
services (the composition root of the HTTP doors)."""

from __future__ import annotations

from fastapi import FastAPI

from greffier import web
from greffier.api.app import create_api
from greffier.services.container import Services
from greffier.settings import Settings


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    services = services or Services.build(settings)
    app = create_api(settings, services)
    web.install(app)  # the web interface: pages at /, assets at /static/web
    return app
