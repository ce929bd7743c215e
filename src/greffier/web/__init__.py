"""The web interface: server-rendered pages for staff and admins, in the API's process.

``install(app)`` adds the pages and the static assets (all vendored in ``static/``: no
CDN, no web font). Pages call the services of ``app.state.services`` (built in
services/container.py), and their scripts call ``/v1`` with the session cookie instead of
an API key. Out of scope here: any business rule (the services decide) and any SQL.
"""

from __future__ import annotations

from importlib import resources

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from greffier.http.inputs import reject_unstorable_text


def install(app: FastAPI) -> None:
    from greffier.web import account, admin, chat, feedback, library

    static = resources.files("greffier.web") / "static"
    app.mount("/static/web", StaticFiles(directory=str(static)), name="web-static")
    for router in (
        account.router,
        chat.router,
        chat.json_router,
        library.router,
        feedback.router,
        admin.router,
    ):
        app.include_router(
            router, include_in_schema=False, dependencies=[Depends(reject_unstorable_text)]
        )
