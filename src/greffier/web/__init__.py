"""The web interface: server-rendered pages for staff and admins, in the API's process.

``install(app, services)`` adds the pages, the static assets (all vendored in
``static/``: no CDN, no web font) and the session service that also lets the pages' scripts
call ``/v1`` with the session cookie instead of an API key. Out of scope here: any business
rule (the services decide) and any SQL (``store/web.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from greffier.services.conversations import ConversationService
from greffier.services.sessions import SessionService
from greffier.store.web import WebStore


@dataclass
class WebServices:
    sessions: SessionService
    conversations: ConversationService
    store: WebStore


def install(app: FastAPI, services) -> None:
    from greffier.web import account, admin, chat, library

    store = WebStore(services.database)
    app.state.web = WebServices(
        SessionService(store, services.identity, services.settings.web_session_hours),
        ConversationService(store),
        store,
    )
    static = resources.files("greffier.web") / "static"
    app.mount("/static/web", StaticFiles(directory=str(static)), name="web-static")
    for router in (account.router, chat.router, chat.json_router, library.router, admin.router):
        app.include_router(router, include_in_schema=False)
