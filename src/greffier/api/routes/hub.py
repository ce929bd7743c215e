"""GET /v1/hub/models and their files: this instance as the model hub of other nodes
(`greffier models pull NAME --from URL`). Files are served with HTTP Range, so an
interrupted download goes on where it stopped."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

router = APIRouter(prefix="/v1/hub", tags=["models"])


@router.get("/models")
def hub_models(request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    return {"object": "list", "data": services.hub.manifest(who)}


@router.get("/models/{model_id:path}/files/{name}")
def hub_file(model_id: str, name: str, request: Request) -> FileResponse:
    services, who = request.app.state.services, request.state.principal
    path = services.hub.file(who, model_id, name)
    return FileResponse(path, media_type="application/octet-stream", filename=name)
