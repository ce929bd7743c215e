"""Collections, documents and ingestion jobs.

Handlers are plain ``def``: FastAPI runs them in its threadpool, off the event loop,
since they touch SQLite and files.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from greffier.api.bodies import NonBlank, Sensitivity
from greffier.api.errors import documented
from greffier.api.links import links
from greffier.http.inputs import CollectionId, DocumentId
from greffier.services.documents import PII_POLICIES, JobReport
from greffier.store.records import Collection, Document

router = APIRouter(prefix="/v1", tags=["documents"], responses=documented(403, 404))
BODY = documented(413)  # operations that take a body

COLLECTION = links(
    {
        "/v1/collections/{collection_id}": ("get", "patch", "delete"),
        "/v1/collections/{collection_id}/documents": ("get", "post"),
        "/v1/collections/{collection_id}/grants": ("get", "post", "delete"),
    },
    collection_id="$response.body#/id",
)
JOB = links({"/v1/jobs/{job_id}": ("get",)}, job_id="$response.body#/job_id")
FIRST_DOCUMENT = links(
    {
        "/v1/documents/{document_id}": ("get", "delete"),
        "/v1/documents/{document_id}/chunks": ("get",),
        "/v1/documents/{document_id}/file": ("get",),
    },
    document_id="$response.body#/documents/0/id",
)

# "mask": personal identifiers are masked in what is indexed and shown.
PiiPolicy = Literal[PII_POLICIES]


class NewCollection(BaseModel):
    name: NonBlank(200)
    description: str = Field("", max_length=2000)
    sensitivity: Sensitivity = "internal"
    pii_policy: PiiPolicy = "report"


class CollectionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(None, max_length=2000)
    sensitivity: Sensitivity | None = None
    pii_policy: PiiPolicy | None = None


def _collection(c: Collection) -> dict:
    return {
        "id": c.id,
        "object": "collection",
        "name": c.name,
        "description": c.description,
        "sensitivity": c.sensitivity,
        "pii_policy": c.pii_policy,
        "owner_id": c.owner_id,
        "documents": c.documents,
        "accepted": c.accepted,
        "created_at": c.created_at,
    }


def _error(d: Document) -> dict | None:
    return {"code": d.error_code, "message": d.error} if d.error else None


def _document(d: Document) -> dict:
    return {
        "id": d.id,
        "object": "document",
        "collection_id": d.collection_id,
        "name": d.name,
        "sha256": d.sha256,
        "size": d.size,
        "format": d.format,
        "pages": d.pages,
        "status": d.status,
        "error": _error(d),
        "warnings": d.warnings,
        "chunks": d.chunks,
        "personal_data": d.personal_data,
        "job_id": d.job_id,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def _services(request: Request):
    return request.app.state.services, request.state.principal


@router.post(
    "/collections",
    status_code=201,
    responses={201: {"description": "The collection.", "links": COLLECTION}}
    | BODY
    | documented(409),
)
def create_collection(body: NewCollection, request: Request) -> dict:
    services, who = _services(request)
    row = services.documents.create_collection(
        who, body.name, body.description, body.sensitivity, body.pii_policy
    )
    return _collection(row)


@router.patch("/collections/{collection_id}", responses=BODY)
def change_collection(
    collection_id: CollectionId, body: CollectionChange, request: Request
) -> dict:
    services, who = _services(request)
    row = services.documents.update_collection(who, collection_id, **body.model_dump())
    return _collection(row)


@router.get("/collections")
def list_collections(request: Request) -> dict:
    services, who = _services(request)
    return {"object": "list", "data": [_collection(r) for r in services.documents.collections(who)]}


@router.get("/collections/{collection_id}")
def get_collection(collection_id: CollectionId, request: Request) -> dict:
    services, who = _services(request)
    return _collection(services.documents.collection(who, collection_id))


@router.delete("/collections/{collection_id}")
def delete_collection(collection_id: CollectionId, request: Request) -> dict:
    services, who = _services(request)
    services.documents.delete_collection(who, collection_id)
    return {"id": collection_id, "object": "collection", "deleted": True}


@router.post(
    "/collections/{collection_id}/documents",
    status_code=202,
    responses={
        202: {"description": "The job indexing the files.", "links": JOB},
        200: {"description": "Every file was refused or unchanged: no job."},
    }
    | BODY,
)
def upload_documents(
    collection_id: CollectionId, request: Request, files: list[UploadFile] = File(..., min_length=1)
) -> JSONResponse:
    """Upload files (multipart field `files`, repeatable); indexing runs as a job."""
    services, who = _services(request)
    batch = [(f.filename or "unnamed", f.file.read()) for f in files]
    submitted = services.documents.submit(who, collection_id, batch)
    body = {
        "object": "ingestion",
        "job_id": submitted.job_id,
        "queued": submitted.queued,
        "unchanged": submitted.unchanged,
        "refused": submitted.refused,
    }
    return JSONResponse(body, status_code=202 if submitted.job_id else 200)


@router.get("/collections/{collection_id}/documents")
def list_documents(collection_id: CollectionId, request: Request) -> dict:
    services, who = _services(request)
    rows = services.documents.documents(who, collection_id)
    return {"object": "list", "data": [_document(r) for r in rows]}


@router.get("/documents/{document_id}")
def get_document(document_id: DocumentId, request: Request) -> dict:
    services, who = _services(request)
    return _document(services.documents.read(who, document_id))


@router.get("/documents/{document_id}/chunks")
def document_chunks(document_id: DocumentId, request: Request) -> dict:
    """The document's indexed passages (masked where the collection masks personal data):
    what a citation points into."""
    services, who = _services(request)
    chunks = services.documents.chunks(who, document_id)
    shown = ("ordinal", "text", "page", "heading", "char_start", "char_end")
    return {
        "object": "list",
        "document_id": document_id,
        "data": [{k: v for k, v in asdict(c).items() if k in shown} for c in chunks],
    }


@router.get(
    "/documents/{document_id}/file",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    },
)
def document_file(document_id: DocumentId, request: Request) -> Response:
    """The file as uploaded. Where the collection masks personal data, only people who
    manage it may fetch the unmasked original."""
    services, who = _services(request)
    row, data = services.documents.original(who, document_id)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.name)}"},
    )


@router.delete("/documents/{document_id}")
def delete_document(document_id: DocumentId, request: Request) -> dict:
    services, who = _services(request)
    services.documents.delete_document(who, document_id)
    return {"id": document_id, "object": "document", "deleted": True}


@router.get("/jobs/{job_id}", responses={200: {"description": "The job.", "links": FIRST_DOCUMENT}})
def get_job(
    request: Request,
    job_id: str = Path(description="As returned by the operation that started the job."),
) -> dict:
    services, who = _services(request)
    return _job(services.documents.job(who, job_id))


def _job(report: JobReport) -> dict:
    job = report.job
    return {
        "id": job.id,
        "object": "job",
        "kind": job.kind,
        "status": job.status,
        "collection_id": job.collection_id,
        "total": job.total,
        "done": job.done,
        "error": job.error,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "documents": [
            {
                "id": d.id,
                "name": d.name,
                "status": d.status,
                "error": _error(d),
                "chunks": d.chunks,
                "warnings": d.warnings,
            }
            for d in report.documents
        ],
    }
