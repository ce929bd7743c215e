"""LoRA training on CPU: the base's GGUF weights loaded by transformers (dequantized to
float32), a PEFT adapter on every attention and MLP projection, plain AdamW, one
conversation a step.

A run lives in one folder: ``checkpoints/step-N/`` every few steps (the adapter, the
optimizer's state and ``state.json``), so an interrupted run goes on from its last
checkpoint with the same example order (drawn from the seed, epoch by epoch) and the same
optimizer moments, and ends where an uninterrupted one would. The adapter of the last
step is saved in ``adapter/``.

The estimate before training is measured, not guessed: one forward and backward pass on
a typical example, without an optimizer step, timed and scaled by tokens.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from greffier.errors import InvalidRequest
from greffier.models import files
from greffier.models.training.data import IGNORED, Encoded

log = logging.getLogger(__name__)

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STATE = "state.json"


@dataclass(frozen=True)
class Hyperparameters:
    steps: int
    rank: int = 8
    alpha: int = 16
    learning_rate: float = 2e-4
    max_length: int = 512
    checkpoint_every: int = 50
    seed: int = 0


@dataclass
class Estimate:
    examples: int
    steps: int
    tokens: int  # tokens processed over the whole run
    seconds_per_token: float
    first_step: int  # 1 when starting, more when resuming

    @property
    def seconds(self) -> float:
        return self.tokens * self.seconds_per_token


@dataclass
class RunState:
    """What a checkpoint records; checked on resume so a run goes on with what it began."""

    step: int
    steps: int
    data_sha256: str
    base_sha256: str
    hyperparameters: dict
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def load_base(gguf: Path, threads: int, cache: Path | None = None):
    """The model and its tokenizer from one GGUF file (chat template included). Building
    the tokenizer from GGUF takes half a minute: it is kept in ``cache`` (a folder per base
    file, named by the caller from its checksum) for the next run."""
    files.hub_offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    if cache is not None and (cache / "tokenizer_config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(str(cache))
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        if cache is not None:
            tokenizer.save_pretrained(str(cache))
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    model.config.use_cache = False
    return model, tokenizer


def write_base_config(model, folder: Path) -> Path:
    """The base's transformers configuration, which llama.cpp's converter reads: its
    architecture named (a GGUF-loaded configuration names none) and no quantization
    section (the adapter is float32 whatever the base file's quantization)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    config["architectures"] = [type(model).__name__]
    config.pop("quantization_config", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return folder


def save_merged(trainer: Trainer, tokenizer, folder: Path) -> Path:
    """The base with the trained adapter folded into its weights, as a transformers folder
    (float16 safetensors, configuration, tokenizer) for llama.cpp's model converter. Ends
    the trainer's use: the adapter's layers are gone from its model afterwards."""
    import torch

    shutil.rmtree(folder, ignore_errors=True)
    merged = trainer.model.merge_and_unload()
    # Loaded from GGUF, the weights were dequantized: nothing is quantized any more, but
    # transformers still marks the model so and would refuse to save it.
    merged.hf_quantizer = None
    if hasattr(merged.config, "quantization_config"):
        del merged.config.quantization_config
    merged.to(torch.float16).save_pretrained(str(folder), safe_serialization=True)
    write_base_config(merged, folder)
    tokenizer.save_pretrained(str(folder))
    return folder


def order(examples: int, steps: int, seed: int) -> list[int]:
    """Which example each step learns from: every example once per epoch, shuffled."""
    picked: list[int] = []
    epoch = 0
    while len(picked) < steps:
        indices = list(range(examples))
        random.Random(seed * 1_000_003 + epoch).shuffle(indices)
        picked += indices
        epoch += 1
    return picked[:steps]


def checkpoints(run: Path) -> list[Path]:
    folder = run / "checkpoints"
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if p.name.removeprefix("step-").isdigit() and (p / STATE).is_file()
    ]
    return sorted(found, key=lambda p: int(p.name.removeprefix("step-")))


class Trainer:
    """One run: built from the base, the encoded data and the hyperparameters."""

    def __init__(self, model, data: list[Encoded], hp: Hyperparameters, run: Path):
        import torch
        from peft import LoraConfig, get_peft_model

        self.torch = torch
        self.hp = hp
        self.run = run
        self.data = data
        torch.manual_seed(hp.seed)
        config = LoraConfig(
            r=hp.rank,
            lora_alpha=hp.alpha,
            lora_dropout=0.0,  # no randomness: a resumed run ends where one whole run would
            target_modules=TARGETS,
            task_type="CAUSAL_LM",
        )
        self.model = get_peft_model(model, config)
        self.model.train()
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=hp.learning_rate, weight_decay=0.0)
        self.plan = order(len(data), hp.steps, hp.seed)

    def _loss(self, example: Encoded):
        """Mean cross-entropy over the answer's tokens. The vocabulary projection (a
        quarter of a small model's weights) runs only on the positions that predict the
        answer, which come last: on a short answer this is most of a step's time saved."""
        torch = self.torch
        ids = example.input_ids
        first = max(1, next(i for i, label in enumerate(example.labels) if label != IGNORED))
        keep = len(ids) - first + 1  # from the position predicting the answer's first token
        out = self.model(input_ids=torch.tensor([ids]), logits_to_keep=keep)
        logits = out.logits[0, :-1]
        targets = torch.tensor(example.labels[first:])
        return torch.nn.functional.cross_entropy(logits.float(), targets, ignore_index=IGNORED)

    def measure(self) -> float:
        """Seconds per token of one forward and backward pass (no weight changes)."""
        lengths = sorted(len(e.input_ids) for e in self.data)
        typical = next(e for e in self.data if len(e.input_ids) == lengths[len(lengths) // 2])
        self._loss(typical).backward()  # the first pass allocates: not timed
        self.optimizer.zero_grad(set_to_none=True)
        started = time.perf_counter()
        self._loss(typical).backward()
        elapsed = time.perf_counter() - started
        self.optimizer.zero_grad(set_to_none=True)
        return elapsed / len(typical.input_ids)

    def estimate(self, first_step: int) -> Estimate:
        remaining = self.plan[first_step - 1 :]
        return Estimate(
            examples=len(self.data),
            steps=self.hp.steps,
            tokens=sum(len(self.data[i].input_ids) for i in remaining),
            seconds_per_token=self.measure(),
            first_step=first_step,
        )

    def resume(self, state: RunState, folder: Path) -> None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(
            self.model, load_file(str(folder / "adapter" / "adapter_model.safetensors"))
        )
        self.optimizer.load_state_dict(
            self.torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True)
        )

    def train(
        self,
        state: RunState,
        on_step: Callable[[int, float], None],
    ) -> RunState:
        """Steps ``state.step + 1`` .. ``hp.steps``, a checkpoint every ``checkpoint_every``
        steps and at the end."""
        for step in range(state.step + 1, self.hp.steps + 1):
            started = time.perf_counter()
            loss = self._loss(self.data[self.plan[step - 1]])
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            state.step = step
            state.losses.append(round(float(loss.detach()), 5))
            state.seconds += time.perf_counter() - started
            if step % self.hp.checkpoint_every == 0 or step == self.hp.steps:
                self.checkpoint(state)
            on_step(step, state.losses[-1])
        return state

    def checkpoint(self, state: RunState) -> Path:
        """Written beside, then renamed: an interruption never leaves half a checkpoint."""
        folder = self.run / "checkpoints" / f"step-{state.step}"
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        self.model.save_pretrained(str(partial / "adapter"))
        self.torch.save(self.optimizer.state_dict(), partial / "optimizer.pt")
        (partial / STATE).write_text(json.dumps(asdict(state), indent=2) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        for old in checkpoints(self.run)[:-2]:  # the last two are enough to go on
            shutil.rmtree(old, ignore_errors=True)
        return folder

    def save_adapter(self) -> Path:
        target = self.run / "adapter"
        shutil.rmtree(target, ignore_errors=True)
        self.model.save_pretrained(str(target))
        return target


def load_state(folder: Path) -> RunState:
    return RunState(**json.loads((folder / STATE).read_text()))


def check_resumable(state: RunState, data_sha256: str, base_sha256: str, hp: Hyperparameters):
    """A checkpoint goes on only with the data, base and settings it began with (the number
    of steps may grow: that is how a run is extended)."""
    if state.data_sha256 != data_sha256:
        raise InvalidRequest(
            "The checkpoint was trained on other data (its SHA-256 differs): start a new "
            "run with another --name, or give the same data.",
            param="resume",
        )
    if state.base_sha256 != base_sha256:
        raise InvalidRequest("The checkpoint was trained on another base model.", param="resume")
    began = {k: v for k, v in state.hyperparameters.items() if k not in ("steps",)}
    now = {k: v for k, v in asdict(hp).items() if k not in ("steps",)}
    if began != now:
        changed = sorted(k for k in now if began.get(k) != now[k])
        raise InvalidRequest(
            f"The checkpoint was trained with other settings ({', '.join(changed)}): give "
            "the same ones to resume.",
            param="resume",
        )
    if state.step >= hp.steps:
        raise InvalidRequest(
            f"The checkpoint is already at step {state.step}: ask for more steps to go on.",
            param="steps",
        )
