"""GET /v1/hub/models and their files: this instance as the model hub of other nodes
(`greffier models pull NAME --from URL`). Files are served with HTTP Range, so an
interrupted download goes on where it stopped."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from greffier.api.errors import documented

router = APIRouter(prefix="/v1/hub", tags=["models"], responses=documented(403, 404))


@router.get("/models")
def hub_models(request: Request) -> dict:
    services, who = request.app.state.services, request.state.principal
    return {"object": "list", "data": services.hub.manifest(who)}


@router.get(
    "/models/{model_id:path}/files/{name:path}",  # a model folder's files: 2_Dense/config.json
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        },
        206: {"description": "Part of the file (HTTP Range)."},
    },
)
def hub_file(model_id: str, name: str, request: Request) -> FileResponse:
    services, who = request.app.state.services, request.state.principal
    path = services.hub.file(who, model_id, name)
    return FileResponse(path, media_type="application/octet-stream", filename=name)
