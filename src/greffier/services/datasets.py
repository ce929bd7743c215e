"""Alignment data sets from what an organisation already holds: its staff's judgement of
answers (accepted feedback) and its documents (synthetic question–answer pairs).

``build`` is the console's (the operator, or an admin): it reads every accepted item,
whoever gave it. Synthetic pairs are written by the chat model from a collection's
passages, each under a JSON schema; a pair is kept only when searching its question in
that collection finds its source passage again in the first ``k`` — a question the
passage does not answer, or one too vague to lead back to it, is dropped. Every text is
masked for French personal identifiers before it is written (documents/pii.py), the
examples are split into training and held-out sets, and the card says what went in.
Export and import go through a ZIP that carries the card's checksums; building, exporting
and importing are audited.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greffier import __version__
from greffier.datasets import archive
from greffier.datasets.card import DatasetCard, entry, write
from greffier.datasets.examples import (
    QA_SCHEMA,
    SYSTEM_PROMPT,
    Example,
    answers_line,
    from_feedback,
    jsonl,
    masked,
    parse_qa,
    preference_line,
    qa_messages,
    sft_line,
    split,
)
from greffier.errors import InvalidRequest, NotFound, PermissionDenied
from greffier.models.backends.base import Generation, Message, ResponseFormat
from greffier.services.audit import AuditService
from greffier.services.chat import ChatService
from greffier.services.feedback import FeedbackService
from greffier.services.principal import Principal
from greffier.services.search import SearchService
from greffier.store.interfaces import DocumentIndex
from greffier.store.records import now_text

DETECTOR = "greffier.documents.pii (NIR, IBAN, SIRET, SIREN, telephone, e-mail)"
MIN_PASSAGE_CHARS = 80
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Synthetic:
    collection_id: int
    count: int
    k: int = 4
    model: str | None = None
    max_tokens: int = 160


@dataclass(frozen=True)
class BuiltDataset:
    directory: Path
    card: DatasetCard
    card_sha256: str


class DatasetService:
    def __init__(
        self,
        feedback: FeedbackService,
        chat: ChatService,
        search: SearchService,
        documents: DocumentIndex,
        audit: AuditService,
    ):
        self.feedback = feedback
        self.chat = chat
        self.search = search
        self.documents = documents
        self.audit = audit

    def build(
        self,
        who: Principal,
        target: Path,
        *,
        licence: str,
        synthetic: Synthetic | None = None,
        heldout: float = 0.0,
        seed: int = 0,
        system: str | None = SYSTEM_PROMPT,
        progress: Progress | None = None,
    ) -> BuiltDataset:
        _admin(who)
        if not licence.strip():
            raise InvalidRequest("A data set needs a licence (e.g. CC-BY-4.0).", param="licence")
        if not 0 <= heldout < 1:
            raise InvalidRequest("The held-out share is from 0 to less than 1.", param="heldout")
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise InvalidRequest(f"{target} exists and is not an empty folder.", param="target")
        progress = progress or (lambda stage, done, total: None)

        accepted = self.feedback.accepted()
        examples = [
            e
            for e in (
                from_feedback(f.id, f.rating, f.question, f.answer, f.correction, f.citations)
                for f in accepted
            )
            if e is not None
        ]
        progress("feedback", len(accepted), len(accepted))
        sources: dict = {"feedback": {"accepted": len(accepted), "examples": len(examples)}}
        if synthetic is not None:
            pairs, summary = self._synthetic(synthetic, seed, progress)
            examples += pairs
            sources["synthetic"] = summary
        if not examples:
            raise InvalidRequest(
                "Nothing to build from: no accepted feedback gives an example, and no "
                "synthetic pair was kept.",
                param="synthetic",
            )

        masked_counts: Counter = Counter()
        clean = []
        for example in examples:
            example, counts = masked(example)
            masked_counts.update(counts)
            clean.append(example)
        train, held = split(clean, heldout, seed)
        files = _files(train, held, system)

        target.mkdir(parents=True, exist_ok=True)
        card = DatasetCard(
            name=target.name,
            created_at=now_text(),
            greffier_version=__version__,
            licence=licence.strip(),
            sources=sources,
            counts={},
            masking={"applied": True, "detector": DETECTOR, "masked": dict(masked_counts)},
            curators=sorted({f.curated_by for f in accepted if f.curated_by}),
            split={"heldout": heldout, "seed": seed},
        )
        for name, (text, count) in files.items():
            data = text.encode("utf-8")
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            card.files[name] = entry(data)
            if count is not None:
                card.counts[name] = count
        sha = write(target, card)
        self.audit.record(
            who,
            "dataset_build",
            query=f"{target.name}: {len(train)} training, {len(held)} held out",
            resources=[{"type": "feedback", "id": f.id, "name": None} for f in accepted],
        )
        return BuiltDataset(target, card, sha)

    def export(self, who: Principal, directory: Path, target: Path) -> str:
        _admin(who)
        sha = archive.export(directory, target)
        self.audit.record(who, "dataset_export", query=f"{directory.name} -> {target.name}")
        return sha

    def load(
        self, who: Principal, source: Path, target: Path, card_sha256: str | None = None
    ) -> DatasetCard:
        _admin(who)
        card = archive.load(source, target, card_sha256)
        self.audit.record(who, "dataset_import", query=f"{source.name} -> {target.name}")
        return card

    # --- synthetic pairs -------------------------------------------------------------------

    def _synthetic(
        self, ask: Synthetic, seed: int, progress: Progress
    ) -> tuple[list[Example], dict]:
        collection = self.documents.collection(ask.collection_id)
        if collection is None:
            raise NotFound(f"No collection with id {ask.collection_id}.", param="synthetic")
        chunks = [
            (document.name, chunk)
            for document in self.documents.documents(collection.id)
            if document.status == "indexed"
            for chunk in self.documents.chunks_of(document.id)
            if len(chunk.text) >= MIN_PASSAGE_CHARS
        ]
        if not chunks:
            raise InvalidRequest(
                f"The collection '{collection.name}' has no indexed passage to write from.",
                param="synthetic",
            )
        picked = random.Random(seed).sample(chunks, min(ask.count, len(chunks)))
        model = self.chat.backend_for(ask.model).entry.id
        kept: list[Example] = []
        written = 0

        async def run() -> None:
            nonlocal written
            for i, (document, chunk) in enumerate(picked):
                pair = await self._pair(model, chunk.text, ask.max_tokens, seed + i)
                if pair is not None:
                    written += 1
                    question, answer = pair
                    hits = await asyncio.to_thread(
                        self.search.search, question, [collection.id], k=ask.k
                    )
                    if chunk.id in {h.chunk_id for h in hits}:
                        kept.append(
                            Example(
                                question,
                                answer,
                                None,
                                "synthetic",
                                str(chunk.id),
                                document,
                                (chunk.text,),
                            )
                        )
                progress("synthetic", i + 1, len(picked))

        asyncio.run(run())
        summary = {
            "collection": collection.name,
            "collection_id": collection.id,
            "model": model,
            "asked": len(picked),
            "written": written,
            "kept": len(kept),
            "k": ask.k,
        }
        return kept, summary

    async def _pair(
        self, model: str, passage: str, max_tokens: int, seed: int
    ) -> tuple[str, str] | None:
        generation = Generation(
            messages=tuple(Message(role, content) for role, content in qa_messages(passage)),
            max_tokens=max_tokens,
            temperature=0.3,
            seed=seed,
            stream=False,
            response_format=ResponseFormat("json_schema", QA_SCHEMA, "qa"),
        )
        answer = await self.chat.answer(model, generation)
        return parse_qa(answer.text)


def _files(
    train: list[Example], held: list[Example], system: str | None
) -> dict[str, tuple[str, int | None]]:
    """Every file of the data set: name -> (text, examples it holds)."""
    files: dict[str, tuple[str, int | None]] = {}
    sft = [sft_line(e, system) for e in train]
    preference = [p for p in (preference_line(e) for e in train) if p is not None]
    files["sft.jsonl"] = (jsonl(sft), len(sft))
    files["preference.jsonl"] = (jsonl(preference), len(preference))
    if held:
        files["sft.heldout.jsonl"] = (jsonl([sft_line(e, system) for e in held]), len(held))
        pairs = [p for p in (preference_line(e) for e in held) if p is not None]
        files["preference.heldout.jsonl"] = (jsonl(pairs), len(pairs))
        # For `greffier eval answers heldout.answers.jsonl --documents heldout-documents`:
        # each question's passages as a document of its own.
        lines = []
        for i, e in enumerate(held, start=1):
            name = f"q{i:04d}.txt" if e.passages else None
            if name:
                files[f"heldout-documents/{name}"] = ("\n\n".join(e.passages) + "\n", None)
            lines.append({**answers_line(e), "document": name})
        files["heldout.answers.jsonl"] = (jsonl(lines), len(lines))
    return files


def _admin(who: Principal) -> None:
    if not who.is_admin:
        raise PermissionDenied("Data sets are built by admins.", code="admin_only")
