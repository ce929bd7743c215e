"""`greffier finetune`: a LoRA adapter trained on CPU over a catalogue model, converted to
llama.cpp's format and registered as a new catalogue entry (base file + adapter, both
checked by SHA-256) whose card names its base and the data it learnt from.

The catalogue entry goes into the operator's catalogue file, as `models pull --from` adds
models it did not know; the in-process backend then serves it like any other model.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from greffier.errors import InvalidRequest, PermissionDenied
from greffier.models import files
from greffier.models.catalogue import Adapter, Component, LocalFileSource, ModelEntry, Role
from greffier.models.registry import ModelRegistry
from greffier.services.audit import AuditService
from greffier.services.principal import Principal
from greffier.settings import Settings

ADAPTER_FILE = "adapter.gguf"
MERGED_FILE = "model.gguf"


@dataclass(frozen=True)
class FinetuneRequest:
    base: str
    data: Path
    name: str
    steps: int | None = None
    epochs: float | None = None
    rank: int = 8
    learning_rate: float = 2e-4
    max_length: int = 512
    checkpoint_every: int = 50
    resume: bool = False
    output: Path | None = None  # the run's folder (checkpoints); default under data_dir
    seed: int = 0
    merge: bool = False  # fold the adapter into a quantized copy of the base file


@dataclass
class FinetuneResult:
    entry: ModelEntry
    run: Path
    steps: int
    losses: list[float]
    seconds: float


def catalogue_entries(path: Path) -> list[dict]:
    import tomllib

    if not path.is_file():
        return []
    return tomllib.loads(path.read_text("utf-8")).get("model", [])


def register(catalogue_file: Path, entry: ModelEntry) -> None:
    """Add ``entry`` to the operator's catalogue file, replacing an earlier fine-tune of the
    same name (the file is rewritten then; other entries and aliases are kept)."""
    import tomllib

    import tomli_w

    catalogue_file.parent.mkdir(parents=True, exist_ok=True)
    new = entry.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    if any(m.get("id") == entry.id for m in catalogue_entries(catalogue_file)):
        document = tomllib.loads(catalogue_file.read_text("utf-8"))
        document["model"] = [m for m in document["model"] if m.get("id") != entry.id] + [new]
        catalogue_file.write_text(tomli_w.dumps(document), encoding="utf-8")
        return
    with catalogue_file.open("a", encoding="utf-8") as out:
        out.write(f"\n# Added by greffier finetune: {entry.id}\n")
        out.write(tomli_w.dumps({"model": [new]}))


class FinetuneService:
    def __init__(self, settings: Settings, registry: ModelRegistry, audit: AuditService):
        self.settings = settings
        self.registry = registry
        self.audit = audit

    def run_folder(self, request: FinetuneRequest) -> Path:
        return request.output or self.settings.data_dir / "finetune" / files.dir_name(request.name)

    def _check(self, who: Principal, request: FinetuneRequest) -> ModelEntry:
        if not who.is_admin:
            raise PermissionDenied("Fine-tuning a model is for admins.", code="admin_only")
        base = self.registry.entry(request.base)
        if base.role != Role.chat or base.backend != "llamacpp" or base.adapter is not None:
            raise InvalidRequest(
                f"'{base.id}' cannot be fine-tuned here: a base is an in-process (llamacpp) "
                "chat model that is not itself a fine-tune.",
                param="base",
            )
        if request.name in self.registry.catalogue:
            known = self.registry.entry(request.name)
            if known.adapter is None or known.adapter.base != base.id:
                raise InvalidRequest(
                    f"The catalogue already has a model '{request.name}': choose another --name.",
                    param="name",
                )
        if (request.steps is None) == (request.epochs is None):
            raise InvalidRequest("Give --steps or --epochs (one of them).", param="steps")
        if request.steps is not None and request.steps < 1:
            raise InvalidRequest("--steps must be at least 1.", param="steps")
        if request.epochs is not None and request.epochs <= 0:
            raise InvalidRequest("--epochs must be positive.", param="epochs")
        if request.rank < 1 or request.max_length < 16 or request.checkpoint_every < 1:
            raise InvalidRequest(
                "--rank ≥ 1, --max-length ≥ 16 and --checkpoint-every ≥ 1 are needed.",
                param="rank",
            )
        return base

    def finetune(
        self,
        who: Principal,
        request: FinetuneRequest,
        *,
        on_stage: Callable[[str], None] = lambda stage: None,
        on_estimate: Callable = lambda estimate: None,
        on_step: Callable[[int, float], None] = lambda step, loss: None,
    ) -> FinetuneResult:
        """Train (or go on training), convert, register. ``on_estimate(Estimate)`` is
        called once before the first step; ``on_step(step, loss)`` after each."""
        from greffier.models.training import convert, data, lora

        base = self._check(who, request)
        run = self.run_folder(request)
        found = lora.checkpoints(run)
        if found and not request.resume:
            raise InvalidRequest(
                f"{run} holds checkpoints of an earlier run: add --resume to go on from "
                f"step {found[-1].name.removeprefix('step-')}, or choose another --name.",
                param="resume",
            )
        if request.resume and not found:
            raise InvalidRequest(f"{run} holds no checkpoint to resume from.", param="resume")
        on_stage("checking the base model")
        base_path = files.verify(self.settings.models_dir, base)
        base_sha = files.expected_sha256(self.settings.models_dir, base)
        conversations = data.read_conversations(request.data)
        dataset = data.describe(request.data, len(conversations))
        steps = request.steps or math.ceil(request.epochs * len(conversations))
        hp = lora.Hyperparameters(
            steps=steps,
            rank=request.rank,
            alpha=2 * request.rank,
            learning_rate=request.learning_rate,
            max_length=request.max_length,
            checkpoint_every=request.checkpoint_every,
            seed=request.seed,
        )
        state = lora.RunState(0, steps, dataset.sha256, base_sha, asdict(hp))
        if found:
            state = lora.load_state(found[-1])
            lora.check_resumable(state, dataset.sha256, base_sha, hp)
            state.steps = steps
            state.hyperparameters = asdict(hp)
        on_stage("loading the base model from its GGUF file")
        model, tokenizer = lora.load_base(
            base_path,
            self.settings.threads or _cores(),
            self.settings.models_dir / ".cache" / "tokenizers" / base_sha[:16],
        )
        encoded = [data.encode(tokenizer, c, hp.max_length) for c in conversations]
        run.mkdir(parents=True, exist_ok=True)
        trainer = lora.Trainer(model, encoded, hp, run)
        if found:
            trainer.resume(state, found[-1])
        on_stage("measuring one training step")
        on_estimate(trainer.estimate(state.step + 1))
        state = trainer.train(state, on_step)
        on_stage("converting the adapter for llama.cpp")
        adapter_dir = trainer.save_adapter()
        config_dir = lora.write_base_config(model, run / "base")
        target_dir = self.settings.models_dir / files.dir_name(request.name)
        target_dir.mkdir(parents=True, exist_ok=True)
        partial = target_dir / (ADAPTER_FILE + ".partial")
        convert.convert(self.settings.models_dir / ".cache", adapter_dir, config_dir, partial)
        adapter_path = target_dir / ADAPTER_FILE
        partial.replace(adapter_path)
        weights = base_path
        if request.merge:
            on_stage("merging the adapter into a quantized copy of the base")
            weights = self._merge(trainer, tokenizer, run, target_dir, base_path)
        entry = self._entry(base, weights, request, dataset, adapter_path, state)
        register(self.settings.effective_catalogue_file, entry)
        self.audit.record(who, "model.finetune", model=entry.id, query=str(request.data))
        return FinetuneResult(entry, run, state.step, state.losses, state.seconds)

    def _merge(self, trainer, tokenizer, run: Path, target_dir: Path, base_path: Path) -> Path:
        """The adapted model as one GGUF file quantized like its base: llama.cpp then runs
        it at the base's speed (an applied adapter costs time on every token)."""
        from greffier.models.training import convert, lora  # the finetune extra

        cache = self.settings.models_dir / ".cache"
        folder = lora.save_merged(trainer, tokenizer, run / "merged")
        f16 = convert.convert_model(cache, folder, run / "merged-f16.gguf")
        shutil.rmtree(folder)
        partial = target_dir / (MERGED_FILE + ".partial")
        convert.quantize(f16, base_path, partial, self.settings.threads or _cores())
        f16.unlink()
        merged = target_dir / MERGED_FILE
        partial.replace(merged)
        return merged

    def _entry(self, base, weights: Path, request, dataset, adapter_path, state):
        """``weights``: the base's own file, or the merged one (``--merge``)."""
        sha = files.sha256_file(adapter_path)
        how = "merged into a copy of its weights" if request.merge else "applied by llama.cpp"
        learnt = (
            f" Fine-tuned by this organisation with a LoRA adapter on {dataset.path.name} "
            f"({dataset.examples} conversations, SHA-256 {dataset.sha256})"
        )
        if dataset.card is not None:
            counts = ", ".join(f"{k}: {v}" for k, v in dataset.card_counts.items())
            learnt += (
                f"; its dataset card {dataset.card.name} (SHA-256 {dataset.card_sha256}"
                f"{'; ' + counts if counts else ''})"
            )
        learnt += "."
        openness = base.openness.model_copy(
            update={
                "training_data": Component(
                    status=base.openness.training_data.status,
                    note=(base.openness.training_data.note + learnt).strip(),
                    source=base.openness.training_data.source,
                ),
                "training_code": Component(
                    status=base.openness.training_code.status,
                    note=(
                        base.openness.training_code.note
                        + " The fine-tuning code is Greffier's (`greffier finetune`, PEFT)."
                    ).strip(),
                    source=base.openness.training_code.source,
                ),
            }
        )
        return ModelEntry(
            id=request.name,
            name=f"{request.name} (LoRA on {base.id}{', merged' if request.merge else ''})",
            role=base.role,
            backend=base.backend,
            source=LocalFileSource(kind="file", path=weights),
            filename=weights.name,
            sha256=files.sha256_file(weights),
            size=weights.stat().st_size,
            licence=base.licence,
            context_length=base.context_length,
            description=(
                f"{base.id} adapted by a LoRA adapter trained on {dataset.path.name} ({how})."
            ),
            openness=openness,
            adapter=Adapter(
                path=adapter_path,
                sha256=sha,
                base=base.id,
                dataset=str(dataset.path),
                dataset_sha256=dataset.sha256,
                examples=dataset.examples,
                dataset_card=str(dataset.card) if dataset.card else "",
                dataset_card_sha256=dataset.card_sha256,
                steps=state.step,
                rank=request.rank,
                merged=request.merge,
            ),
        )


def _cores() -> int:
    import os

    return os.cpu_count() or 1
