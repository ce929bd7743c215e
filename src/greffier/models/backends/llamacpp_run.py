"""One generation on an in-process model, token by token (runs on the model's thread).

Greffier drives ``Llama.generate()`` itself rather than ``create_completion()`` because it
needs what that call cannot give together: the log-probability of each token (read from
the logits llama.cpp has just sampled from, without keeping logits for every position),
grammars chosen per phase, and a function call noticed as it starts.

Function calls (``tools``). The prompt lists the tools (the model's own chat template
renders them). Then:

- ``tool_choice`` "required" or a named function: a grammar allows only well-formed
  ``<tool_call>`` blocks of the allowed functions from the first token;
- "auto": the model writes freely; when it starts a call (:class:`CallStart`), its text
  from there is dropped and generation resumes at that point under the call grammar (the
  "lazy grammar" of llama.cpp's server, done here in two phases: the second reuses the
  first's evaluated tokens). With ``tool_grammar`` off, the free text is parsed instead.

``response_format`` JSON: a grammar from the first token (with tools in "auto", a grammar
allowing either calls or the JSON answer).

Reproducible ``seed``: llama.cpp reuses the evaluated prefix shared with the previous
request, and a prefix evaluated in other batches gives logits that differ in the last
bits, enough to flip a near tie. With a seed, the whole prompt is evaluated afresh, so the
same request gives the same answer whatever came before.
"""

from __future__ import annotations

import codecs
import json
import random
import threading
from collections.abc import Callable, Iterator

import numpy as np

from greffier.models import grammars
from greffier.models.backends.base import (
    Generation,
    NamedTool,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    TopLogprob,
)
from greffier.models.stops import StopScanner
from greffier.models.toolcalls import CallStart, answered, parse_calls

# What execute() returns when the model only repeated calls already answered: the caller
# asks again with the tools left out, for the answer.
REPEATED = "repeated"

# llama-cpp-python's create_completion() defaults, kept so answers match it token for token.
SAMPLING = {"top_k": 40, "min_p": 0.05, "typical_p": 1.0, "repeat_penalty": 1.0}


def response_schema(request: Generation) -> dict | None:
    """The JSON schema the answer must follow, if any (json_object: any object)."""
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "object"}
    return fmt.schema


def format_hint(request: Generation) -> str | None:
    """What the model is told about a JSON answer (the grammar enforces it; the model
    fills it better when it knows)."""
    schema = response_schema(request)
    if schema is None:
        return None
    if request.response_format.type == "json_object":
        return "Answer with one JSON object only."
    return "Answer with one JSON object only, following this JSON schema: " + json.dumps(
        schema, ensure_ascii=False
    )


class Run:
    """The state of one generation; :meth:`execute` emits its events."""

    def __init__(
        self,
        llama,
        request: Generation,
        prompt: list[int],
        template_stops: list[str],
        max_tokens: int,
        cancel: threading.Event,
        emit: Callable[[object], None],
        tool_grammar: bool = True,
    ):
        self.llama = llama
        self.request = request
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.cancel = cancel
        self.emit = emit
        self.tool_grammar = tool_grammar
        self.scanner = StopScanner((*request.stop, *template_stops))
        self.tokens: list[int] = []  # the answer's tokens so far
        self.ends: list[int] = []  # length of the answer's text after each token
        self.text = ""
        self.pending: list[TokenLogprob] = []  # log-probabilities of text not emitted yet
        self.ended_by_model = False
        self.tools = (
            tuple(t for t in request.tools if t.name == request.tool_choice.name)
            if isinstance(request.tool_choice, NamedTool)
            else request.tools
        )
        self._vocab = None

    # --- the loop over tokens ----------------------------------------------------------

    def _tokens(self, grammar: str | None) -> Iterator[int]:
        """Sample tokens after the prompt and the answer so far, until the model ends its
        turn, ``max_tokens`` is reached or the request is cancelled."""
        import llama_cpp
        from llama_cpp import LlamaGrammar

        llama, request = self.llama, self.request
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        generator = llama.generate(
            self.prompt + self.tokens,
            temp=request.temperature,
            top_p=request.top_p,
            frequency_penalty=request.frequency_penalty,
            presence_penalty=request.presence_penalty,
            grammar=LlamaGrammar.from_string(grammar) if grammar else None,
            **SAMPLING,
        )
        try:
            for token in generator:
                if self.cancel.is_set():
                    return
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    self.ended_by_model = True
                    return
                yield token
                if len(self.tokens) >= self.max_tokens:
                    return
        finally:
            generator.close()

    def _logprob(self, token: int, piece: bytes) -> TokenLogprob:
        """The token's log-probability under the logits it was just sampled from (the
        model's own distribution, before temperature and grammar)."""
        import llama_cpp

        llama = self.llama
        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(llama.ctx, -1), shape=(llama.n_vocab(),)
        ).astype(np.float64)
        top = logits.max()
        logsum = top + np.log(np.exp(logits - top).sum())
        k = self.request.top_logprobs
        best: tuple[TopLogprob, ...] = ()
        if k:
            ids = np.argpartition(-logits, k)[:k]
            ids = ids[np.argsort(-logits[ids])]
            best = tuple(
                _top(int(i), llama.detokenize([int(i)]), float(logits[i] - logsum)) for i in ids
            )
        return TokenLogprob(
            piece.decode("utf-8", errors="replace"),
            float(logits[token] - logsum),
            tuple(piece),
            best,
        )

    def _decode(self, grammar: str | None, on_text: Callable[[str], bool]) -> None:
        """Sample and decode tokens, handing each new piece of text to ``on_text`` (which
        returns False to stop)."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for token in self._tokens(grammar):
            piece = self.llama.detokenize([token], prev_tokens=self.prompt + self.tokens)
            self.tokens.append(token)
            text = decoder.decode(piece)
            self.text += text
            self.ends.append(len(self.text))
            if self.request.logprobs:
                self.pending.append(self._logprob(token, piece))
            if not on_text(text):
                return
        if tail := decoder.decode(b"", final=True):
            self.text += tail
            on_text(tail)

    # --- what the text becomes ---------------------------------------------------------

    def _say(self, text: str) -> None:
        """Answer text, through the stop sequences; log-probabilities go with it."""
        shown = self.scanner.feed(text)
        if shown:
            self.emit(TextDelta(shown, tuple(self.pending)))
            self.pending = []

    def _finish_text(self) -> None:
        if not self.scanner.stopped and (tail := self.scanner.flush()):
            self.emit(TextDelta(tail, tuple(self.pending)))
        self.pending = []

    def _calls(self, text: str) -> str | None:
        """Emit the calls ``text`` holds and return the finish reason; None when it holds
        none (a malformed call: the text is then the answer), REPEATED when each call was
        already made and answered in this conversation (making it again would loop)."""
        cut = not self.ended_by_model
        parsed = parse_calls(text, self.tools, cut=cut)
        if parsed is None:
            return None
        before, calls = parsed
        if self.request.tool_choice == "auto" and answered(calls, self.request.messages):
            return REPEATED  # a call was asked for ("required", named): it is made
        if before:
            self._say(before)
            self._finish_text()
        for index, call in enumerate(calls):
            self.emit(ToolCallDelta(index, call.id, call.name, call.arguments))
        return "length" if cut else "tool_calls"

    def execute(self) -> str:
        """Generate; emit the events; return the finish reason (or REPEATED)."""
        request = self.request
        llama = self.llama
        if request.seed is not None:
            llama.reset()  # evaluate the whole prompt: the same answer whatever came before
        llama.set_seed(request.seed if request.seed is not None else random.getrandbits(31))
        answer = response_schema(request)
        if not request.offers_tools:
            return self._plain(grammars.answer_grammar(answer) if answer is not None else None)
        forced = request.tool_choice != "auto"
        if forced or answer is not None:
            grammar = grammars.calls_grammar(
                self.tools, request.parallel_tool_calls, None if forced else answer
            )
            self._decode(grammar, lambda _: True)
            if reason := self._calls(self.text):
                return reason
            self._say(self.text)
            self._finish_text()
            return self._reason()
        return self._auto()

    def _plain(self, grammar: str | None) -> str:
        def on_text(text: str) -> bool:
            self._say(text)
            return not self.scanner.stopped

        self._decode(grammar, on_text)
        self._finish_text()
        return self._reason()

    def _auto(self) -> str:
        """Free text until a call starts; then the call, under its grammar if enabled."""
        start = CallStart(t.name for t in self.tools)

        def on_text(text: str) -> bool:
            self._say(start.feed(text))
            # Without the grammar, the model goes on writing its call; with it, generation
            # stops here and resumes under the grammar.
            return not self.scanner.stopped and (start.start is None or not self.tool_grammar)

        self._decode(None, on_text)
        if start.start is None:
            self._say(start.flush())
            self._finish_text()
            return self._reason()
        self._finish_text()  # the text before the call, held back by the stop sequences
        if self.tool_grammar:
            # Keep the tokens written before the call; write the call again, constrained.
            kept = sum(1 for end in self.ends if end <= start.start)
            del self.tokens[kept:], self.ends[kept:]
            self.text = self.text[: self.ends[-1] if self.ends else 0]
            self.pending = []
            self.ended_by_model = False
            before = len(self.text)
            grammar = grammars.calls_grammar(self.tools, self.request.parallel_tool_calls)
            self._decode(grammar, lambda _: True)
            call_text = self.text[before:]
        else:
            call_text = start.text[start.start :]
        self.pending = []
        if reason := self._calls(call_text):
            return reason
        self._say(call_text)  # not a well-formed call after all: it is the answer
        self._finish_text()
        return self._reason()

    def _reason(self) -> str:
        return "stop" if self.scanner.stopped or self.ended_by_model else "length"


def _top(token: int, piece: bytes, logprob: float) -> TopLogprob:
    return TopLogprob(piece.decode("utf-8", errors="replace"), logprob, tuple(piece))
