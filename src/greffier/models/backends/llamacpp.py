"""In-process inference with llama-cpp-python (GGUF files, CPU or GPU).

A ``Llama`` object is not thread-safe. Each backend owns one worker thread that does all
the work on its model (load, tokenize, generate), a :class:`~greffier.models.gate.Gate`
that lets one request in at a time with a bounded queue behind it, and a cancel flag per
request checked at every sampled token, so a client that disconnects stops generation
within one token instead of burning the CPU to ``max_tokens``.

Prompts are formatted with the chat template stored in the GGUF file (offered functions
included) and tokenized here, so ``usage`` counts come from the model's own tokenizer,
streamed or not. The generation itself, token by token, is in ``llamacpp_run.py``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from greffier.errors import ContextLengthExceeded, InvalidRequest, ModelFileError
from greffier.models import files
from greffier.models.backends.base import (
    ChatBackend,
    Event,
    Finished,
    Generation,
    Message,
    TextScore,
)
from greffier.models.backends.llamacpp_run import REPEATED, Run, format_hint
from greffier.models.catalogue import ModelEntry
from greffier.models.gate import Gate
from greffier.models.toolcalls import template_messages, template_tools
from greffier.settings import Settings

_DONE = object()
# Tokens a text may have to be scored (score_texts): the scorer keeps the logits of every
# position, n_ctx x vocabulary floats, so its window stays small.
SCORE_CONTEXT = 512


def _formatter(llama, template: str):
    """The chat template stored in the GGUF file, as llama-cpp-python renders it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos, bos = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
    )


class LlamaCppBackend(ChatBackend):
    runtime_modules = ("llama_cpp",)
    location = "in-process"
    supports_tools = True
    supports_response_format = True
    supports_logprobs = True

    def __init__(self, entry: ModelEntry, settings: Settings):
        super().__init__(entry, settings)
        self._llama = None
        self._formatter = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"llamacpp-{entry.id}")
        self._gate = Gate(entry.id, settings.queue_size, self.stats)
        self._load_lock = asyncio.Lock()
        self._vocab = None
        self._vocab_lock = threading.Lock()
        self._scorer = None

    @property
    def context_window(self) -> int:
        return min(self.settings.context_size, self.entry.context_length)

    async def load(self) -> None:
        async with self._load_lock:
            if self._llama is None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, self._load_sync)
                self.stats.loaded = True

    def _load_sync(self) -> None:
        path = files.verify(self.settings.models_dir, self.entry)
        adapter = files.lora_to_apply(self.entry)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelFileError(
                f"Model '{self.entry.id}' is not ready on this server: an administrator "
                "must install in-process inference.",
                detail="In-process models need llama-cpp-python: `pip install 'greffier[local]'`.",
            ) from None
        threads = self.settings.threads or os.cpu_count() or 1
        llama = Llama(
            model_path=str(path),
            n_ctx=self.context_window,
            n_threads=threads,
            n_threads_batch=threads,
            lora_path=str(adapter) if adapter else None,
            verbose=False,
        )
        template = llama.metadata.get("tokenizer.chat_template")
        if template:
            self._formatter = _formatter(llama, template)
        self._llama = llama

    async def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._llama = None
        self._scorer = None
        self.stats.loaded = False

    def _vocabulary(self):
        """The model's vocabulary alone (a few MB, loaded in a fraction of a second), so
        tokenizing never waits for a generation holding the full model."""
        with self._vocab_lock:
            if self._vocab is None:
                from llama_cpp import Llama

                path = files.verify(self.settings.models_dir, self.entry)
                self._vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
                template = self._vocab.metadata.get("tokenizer.chat_template")
                if template and self._formatter is None:
                    self._formatter = _formatter(self._vocab, template)
            return self._vocab

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        return self._vocabulary().tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def detokenize(self, tokens: list[int]) -> str:
        vocab = self._vocabulary()
        size = vocab.n_vocab()
        bad = next((t for t in tokens if not 0 <= t < size), None)
        if bad is not None:
            raise InvalidRequest(
                f"Token id {bad} is outside the vocabulary (0..{size - 1}).",
                param="tokens",
                code="invalid_token",
            )
        return vocab.detokenize(tokens, special=True).decode("utf-8", errors="replace")

    def render_chat(self, messages) -> str:
        self._vocabulary()
        if self._formatter is None:
            raise InvalidRequest(f"Model '{self.entry.id}' has no chat template.", param="model")
        return self._formatter(messages=template_messages(messages)).prompt

    def score_texts(self, texts: list[str]) -> list[TextScore]:
        """Each text's total log-probability, on the model's worker thread (so it never
        runs alongside a generation), each text alone after the start-of-text token."""
        return self._executor.submit(self._score_sync, list(texts)).result()

    async def generate(self, request: Generation) -> AsyncIterator[Event]:
        await self.load()
        started = await self._gate.acquire()
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        cancel = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(events.put_nowait, item)

        try:
            future = loop.run_in_executor(self._executor, self._run, request, cancel, emit)
        except BaseException:
            self._gate.release(started)
            raise
        future.add_done_callback(lambda _: self._gate.release(started))
        ended = False
        try:
            while (item := await events.get()) is not _DONE:
                if isinstance(item, BaseException):
                    ended = True
                    raise item
                if isinstance(item, Finished):
                    ended = True
                    self.stats.completed += 1
                yield item
        finally:
            if not ended:
                cancel.set()
                self.stats.cancelled += 1

    # --- everything below runs on the worker thread -------------------------------------

    def _scorer_sync(self):
        """A second instance of the same verified file that keeps the logits of every
        position (``logits_all``); the generating instance keeps only the last one's."""
        if self._scorer is None:
            from llama_cpp import Llama

            path = files.verify(self.settings.models_dir, self.entry)
            adapter = files.lora_to_apply(self.entry)
            threads = self.settings.threads or os.cpu_count() or 1
            self._scorer = Llama(
                model_path=str(path),
                lora_path=str(adapter) if adapter else None,
                n_ctx=SCORE_CONTEXT,
                n_threads=threads,
                n_threads_batch=threads,
                logits_all=True,
                verbose=False,
            )
        return self._scorer

    def _score_sync(self, texts: list[str]) -> list[TextScore]:
        import numpy as np

        llama = self._scorer_sync()
        # A text "alone" still needs a first position to be predicted from: the model's
        # start-of-text token, or its end-of-text token (the document separator) if none.
        start = llama.token_bos() if llama.token_bos() != -1 else llama.token_eos()
        scores = []
        previous: list[int] = []
        for text in texts:
            tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            if not tokens:
                raise InvalidRequest("An empty text has no log-probability.", param="input")
            if len(tokens) + 1 > SCORE_CONTEXT:
                raise ContextLengthExceeded(
                    f"A text of {len(tokens)} tokens is too long to score "
                    f"(at most {SCORE_CONTEXT - 1}).",
                    param="input",
                )
            sequence = [start, *tokens]
            # Texts scored one after the other often begin alike (the two sentences of a
            # CrowS-Pairs pair differ in one group's name): the positions they share are
            # kept from the previous text, as llama.cpp's own prompt cache does.
            shared = 0
            while (
                shared < min(len(previous), len(sequence)) - 1
                and previous[shared] == sequence[shared]
            ):
                shared += 1
            llama.n_tokens = max(shared, 0)
            llama.eval(sequence[shared:])
            previous = sequence
            # Row i holds the logits that predict position i + 1.
            logits = np.asarray(llama.scores[: len(tokens)], dtype=np.float64)
            top = logits.max(axis=1)
            normaliser = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
            each = logits[np.arange(len(tokens)), tokens] - normaliser
            pieces = tuple(zip(tokens, each.tolist(), strict=True))
            scores.append(TextScore(float(each.sum()), len(tokens), pieces))
        return scores

    def _prompt(self, request: Generation) -> tuple[list[int], list[str]]:
        llama = self._llama
        if request.prompt is not None:
            tokens = llama.tokenize(request.prompt.encode("utf-8"), special=True)
            if not tokens:  # llama.cpp cannot start from nothing (no BOS token to add)
                raise InvalidRequest("The prompt is empty: send some text.", param="prompt")
            return tokens, []
        if self._formatter is None:
            raise InvalidRequest(
                f"Model '{self.entry.id}' has no chat template: use /v1/completions.",
                param="model",
            )
        messages = request.messages
        if hint := format_hint(request):
            messages = _with_system_note(messages, hint)
        try:
            formatted = self._formatter(
                messages=template_messages(messages),
                tools=template_tools(request.tools) if request.offers_tools else None,
            )
        except ValueError as exc:  # the template's raise_exception(): e.g. bad role order
            raise InvalidRequest(
                f"The messages do not fit the model's chat template: {exc}", param="messages"
            ) from exc
        tokens = llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=False, special=True)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
        return tokens, [s for s in stops if s]

    def _run(self, request: Generation, cancel: threading.Event, emit: Callable) -> None:
        try:
            self._generate(request, cancel, emit)
        except Exception as exc:  # handed to the coroutine, which raises it
            emit(exc)
        finally:
            emit(_DONE)

    def _generate(self, request: Generation, cancel: threading.Event, emit: Callable) -> None:
        cpu_start = time.process_time()
        prompt, template_stops = self._prompt(request)
        window = self.context_window
        max_tokens = request.max_tokens or window - len(prompt)
        if len(prompt) + max(max_tokens, 1) > window:
            raise ContextLengthExceeded(
                f"Model '{self.entry.id}' accepts {window} tokens in all, but this request "
                f"needs {len(prompt)} for the prompt plus {max_tokens} for the answer. "
                f"Shorten the messages or lower max_tokens.",
                param="messages" if request.prompt is None else "prompt",
            )
        run = Run(
            self._llama,
            request,
            prompt,
            template_stops,
            max_tokens,
            cancel,
            emit,
            tool_grammar=self.settings.tool_grammar,
        )
        reason = run.execute()
        if reason == REPEATED:
            # The model called again what it already has the result of: small models do,
            # and an agent would loop. Its answer is asked for, the tools left out.
            request = replace(request, tool_choice="none")
            prompt, template_stops = self._prompt(request)
            run = Run(self._llama, request, prompt, template_stops, max_tokens, cancel, emit)
            reason = run.execute()
        if not cancel.is_set():
            # CPU seconds of the whole process (llama.cpp's own threads included) while this
            # request held the model, times the power of one busy core.
            joules = (time.process_time() - cpu_start) * self.settings.energy_cpu_watts_per_core
            emit(Finished(reason, len(prompt), len(run.tokens), energy_joules=joules))


def _with_system_note(messages: tuple[Message, ...], note: str) -> tuple[Message, ...]:
    """``note`` added to the system message (one is added when there is none)."""
    if messages and messages[0].role == "system":
        first = messages[0]
        return (replace(first, content=f"{first.content}\n\n{note}"), *messages[1:])
    return (Message("system", note), *messages)
