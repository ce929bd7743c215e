"""Collections, documents and ingestion jobs.

Handlers are plain ``def``: FastAPI runs them in its threadpool, off the event loop,
since they touch SQLite and files.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

router = APIRouter(prefix="/v1", tags=["documents"])


class NewCollection(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    sensitivity: str = "internal"
    pii_policy: str = "report"  # or "mask": personal identifiers masked in what is indexed


class CollectionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=2000)
    sensitivity: str | None = None
    pii_policy: str | None = None


def _collection(row) -> dict:
    return {
        "id": row["id"],
        "object": "collection",
        "name": row["name"],
        "description": row["description"],
        "sensitivity": row["sensitivity"],
        "pii_policy": row["pii_policy"],
        "owner_id": row["owner_id"],
        "documents": row["documents"],
        "created_at": row["created_at"],
    }


def _document(row) -> dict:
    return {
        "id": row["id"],
        "object": "document",
        "collection_id": row["collection_id"],
        "name": row["name"],
        "sha256": row["sha256"],
        "size": row["size"],
        "format": row["format"],
        "pages": row["pages"],
        "status": row["status"],
        "error": {"code": row["error_code"], "message": row["error"]} if row["error"] else None,
        "warnings": json.loads(row["warnings"]),
        "chunks": row["chunks"],
        "personal_data": json.loads(row["pii"]),
        "job_id": row["job_id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _services(request: Request):
    return request.app.state.services, request.state.principal


@router.post("/collections", status_code=201)
def create_collection(body: NewCollection, request: Request) -> dict:
    services, who = _services(request)
    row = services.documents.create_collection(
        who, body.name, body.description, body.sensitivity, body.pii_policy
    )
    return _collection(row)


@router.patch("/collections/{collection_id}")
def change_collection(collection_id: int, body: CollectionChange, request: Request) -> dict:
    services, who = _services(request)
    row = services.documents.update_collection(who, collection_id, **body.model_dump())
    return _collection(row)


@router.get("/collections")
def list_collections(request: Request) -> dict:
    services, who = _services(request)
    return {"object": "list", "data": [_collection(r) for r in services.documents.collections(who)]}


@router.get("/collections/{collection_id}")
def get_collection(collection_id: int, request: Request) -> dict:
    services, who = _services(request)
    return _collection(services.documents.collection(who, collection_id))


@router.delete("/collections/{collection_id}")
def delete_collection(collection_id: int, request: Request) -> dict:
    services, who = _services(request)
    services.documents.delete_collection(who, collection_id)
    return {"id": collection_id, "object": "collection", "deleted": True}


@router.post("/collections/{collection_id}/documents", status_code=202)
def upload_documents(
    collection_id: int, request: Request, files: list[UploadFile] = File(...)
) -> JSONResponse:
    """Upload files (multipart field `files`, repeatable); indexing runs as a job."""
    services, who = _services(request)
    batch = [(f.filename or "unnamed", f.file.read()) for f in files]
    submitted = services.documents.submit(who, collection_id, batch)
    if submitted.job_id:
        services.jobs.submit(submitted.job_id)
    body = {
        "object": "ingestion",
        "job_id": submitted.job_id,
        "queued": submitted.queued,
        "unchanged": submitted.unchanged,
        "refused": submitted.refused,
    }
    return JSONResponse(body, status_code=202 if submitted.job_id else 200)


@router.get("/collections/{collection_id}/documents")
def list_documents(collection_id: int, request: Request) -> dict:
    services, who = _services(request)
    rows = services.documents.documents(who, collection_id)
    return {"object": "list", "data": [_document(r) for r in rows]}


@router.get("/documents/{document_id}")
def get_document(document_id: int, request: Request) -> dict:
    services, who = _services(request)
    row = services.documents.document(who, document_id)
    services.audit.record(who, "document", resources=[_resource(row)])
    return _document(row)


@router.get("/documents/{document_id}/chunks")
def document_chunks(document_id: int, request: Request) -> dict:
    """The document's indexed passages (masked where the collection masks personal data):
    what a citation points into."""
    services, who = _services(request)
    row = services.documents.document(who, document_id)
    services.audit.record(who, "document.chunks", resources=[_resource(row)])
    chunks = services.documents.chunks(who, document_id)
    return {
        "object": "list",
        "document_id": document_id,
        "data": [
            {
                "ordinal": c["ordinal"],
                "text": c["text"],
                "page": c["page"],
                "heading": c["heading"],
                "char_start": c["char_start"],
                "char_end": c["char_end"],
            }
            for c in chunks
        ],
    }


@router.get("/documents/{document_id}/file")
def document_file(document_id: int, request: Request) -> Response:
    """The file as uploaded. Where the collection masks personal data, only people who
    manage it may fetch the unmasked original."""
    services, who = _services(request)
    row = services.documents.document(who, document_id)
    data = services.documents.original(who, document_id)
    services.audit.record(who, "document.file", resources=[_resource(row)])
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(row['name'])}"},
    )


def _resource(row) -> dict:
    return {"type": "document", "id": row["id"], "name": row["name"]}


@router.delete("/documents/{document_id}")
def delete_document(document_id: int, request: Request) -> dict:
    services, who = _services(request)
    services.documents.delete_document(who, document_id)
    return {"id": document_id, "object": "document", "deleted": True}


@router.get("/jobs/{job_id}")
def get_job(job_id: str, request: Request) -> dict:
    services, who = _services(request)
    job = services.documents.job(who, job_id)
    return {
        "id": job["id"],
        "object": "job",
        "kind": job["kind"],
        "status": job["status"],
        "collection_id": job["collection_id"],
        "total": job["total"],
        "done": job["done"],
        "error": job["error"],
        "created_at": job["created_at"],
        "updated_at": job["updated_at"],
        "documents": [
            {
                "id": d["id"],
                "name": d["name"],
                "status": d["status"],
                "error": {"code": d["error_code"], "message": d["error"]} if d["error"] else None,
                "chunks": d["chunks"],
                "warnings": d["warnings"],
            }
            for d in job["documents"]
        ],
    }
