"""Function calling on the bundled models: how often a French request gets a valid call.

A fixed set of French tasks, each with the function and arguments a person expects, is
asked of an in-process model three ways in one run:

- llama-cpp-python's own ``create_chat_completion`` with the tools (what Greffier wraps:
  the model's template renders them; its answer is read with Greffier's parser);
- Greffier, ``tool_choice: "auto"``, grammar off (``tool_grammar = false``: free text,
  parsed);
- Greffier, ``tool_choice: "auto"``, grammar on (the default: once a call starts, it is
  constrained to the functions' schemas).

For each: valid call rate (a call of an offered function whose arguments validate against
its schema), right function, right arguments (the expected values, compared without case
or accents), seconds per task; and the ratios grammar / no grammar. Then the loop a client
runs: call, result, final answer. Run: ``python benchmarks/tool_calls.py --model
qwen2.5-coder-1.5b-instruct`` (pull the model first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from greffier.models.backends.base import Generation, Message, TextDelta, Tool, ToolCallDelta
from greffier.models.registry import ModelRegistry
from greffier.models.toolcalls import parse_calls, template_tools
from greffier.settings import Settings

TOOLS = (
    Tool(
        "meteo",
        "Donne la météo actuelle d'une ville.",
        {"type": "object", "properties": {"ville": {"type": "string"}}, "required": ["ville"]},
    ),
    Tool(
        "envoyer_courriel",
        "Envoie un courriel à une adresse.",
        {
            "type": "object",
            "properties": {
                "destinataire": {"type": "string", "description": "adresse électronique"},
                "objet": {"type": "string"},
            },
            "required": ["destinataire", "objet"],
        },
    ),
    Tool(
        "creer_rendez_vous",
        "Inscrit un rendez-vous à l'agenda.",
        {
            "type": "object",
            "properties": {
                "date": {"type": "string", "description": "AAAA-MM-JJ"},
                "heure": {"type": "string", "description": "HH:MM"},
                "objet": {"type": "string"},
            },
            "required": ["date", "heure", "objet"],
        },
    ),
    Tool(
        "chercher_document",
        "Cherche un document administratif par mots-clés.",
        {"type": "object", "properties": {"requete": {"type": "string"}}, "required": ["requete"]},
    ),
    Tool(
        "convertir_devise",
        "Convertit un montant d'une devise à une autre.",
        {
            "type": "object",
            "properties": {
                "montant": {"type": "number"},
                "de": {"type": "string", "enum": ["EUR", "USD", "GBP", "CHF"]},
                "vers": {"type": "string", "enum": ["EUR", "USD", "GBP", "CHF"]},
            },
            "required": ["montant", "de", "vers"],
        },
    ),
)


@dataclass(frozen=True)
class Task:
    prompt: str
    function: str
    arguments: dict  # expected values (a string: contained, without case or accents)


TASKS = (
    Task("Quel temps fait-il à Lyon ?", "meteo", {"ville": "lyon"}),
    Task("Va-t-il pleuvoir à Brest aujourd'hui ?", "meteo", {"ville": "brest"}),
    Task("Donne-moi la météo de Strasbourg.", "meteo", {"ville": "strasbourg"}),
    Task(
        "Envoie un courriel à marie.dupont@mairie.fr avec pour objet « Conseil municipal ».",
        "envoyer_courriel",
        {"destinataire": "marie.dupont@mairie.fr", "objet": "conseil municipal"},
    ),
    Task(
        "Écris à paul@exemple.fr, objet : budget 2027.",
        "envoyer_courriel",
        {"destinataire": "paul@exemple.fr", "objet": "budget 2027"},
    ),
    Task(
        "Ajoute à mon agenda une réunion de service le 2027-03-14 à 10:30.",
        "creer_rendez_vous",
        {"date": "2027-03-14", "heure": "10:30", "objet": "reunion"},
    ),
    Task(
        "Prends rendez-vous le 2027-01-05 à 09:00 pour la visite du chantier.",
        "creer_rendez_vous",
        {"date": "2027-01-05", "heure": "09:00", "objet": "chantier"},
    ),
    Task(
        "Retrouve le règlement intérieur de la cantine scolaire.",
        "chercher_document",
        {"requete": "cantine"},
    ),
    Task(
        "Cherche le compte rendu du conseil municipal de mars.",
        "chercher_document",
        {"requete": "conseil municipal"},
    ),
    Task(
        "Convertis 250 euros en dollars américains.",
        "convertir_devise",
        {"montant": 250, "de": "EUR", "vers": "USD"},
    ),
    Task(
        "Combien font 80 livres sterling en euros ?",
        "convertir_devise",
        {"montant": 80, "de": "GBP", "vers": "EUR"},
    ),
    Task(
        "Convertis 1200 francs suisses en euros.",
        "convertir_devise",
        {"montant": 1200, "de": "CHF", "vers": "EUR"},
    ),
)


def plain(value: object) -> str:
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    return text.casefold().strip()


def right_arguments(expected: dict, got: dict) -> bool:
    for key, want in expected.items():
        if key not in got:
            return False
        if isinstance(want, int | float) and not isinstance(want, bool):
            try:
                if float(got[key]) != float(want):
                    return False
            except (TypeError, ValueError):
                return False
        elif plain(want) not in plain(got[key]):
            return False
    return True


@dataclass
class Outcome:
    valid: bool
    function: bool
    arguments: bool
    seconds: float


def judge(task: Task, calls: list[tuple[str, str]], seconds: float) -> Outcome:
    """``calls``: (name, arguments JSON) of the answer's calls; the first one counts."""
    if not calls:
        return Outcome(False, False, False, seconds)
    name, text = calls[0]
    tool = next((t for t in TOOLS if t.name == name), None)
    try:
        args = json.loads(text)
        jsonschema.validate(args, tool.parameters)
    except (ValueError, jsonschema.ValidationError, AttributeError):
        return Outcome(False, name == task.function, False, seconds)
    right = name == task.function
    return Outcome(True, right, right and right_arguments(task.arguments, args), seconds)


async def greffier_calls(backend, task: Task, max_tokens: int) -> list[tuple[str, str]]:
    request = Generation(
        messages=(Message("user", task.prompt),),
        tools=TOOLS,
        temperature=0,
        max_tokens=max_tokens,
    )
    calls: dict[int, list[str]] = {}
    async for event in backend.generate(request):
        if isinstance(event, ToolCallDelta):
            call = calls.setdefault(event.index, ["", ""])
            call[0] = event.name or call[0]
            call[1] += event.arguments
    return [tuple(calls[i]) for i in sorted(calls)]


def reference_calls(llama, task: Task, max_tokens: int) -> list[tuple[str, str]]:
    reply = llama.create_chat_completion(
        messages=[{"role": "user", "content": task.prompt}],
        tools=template_tools(TOOLS),
        tool_choice="auto",
        temperature=0,
        max_tokens=max_tokens,
    )
    message = reply["choices"][0]["message"]
    if message.get("tool_calls"):
        return [(c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]]
    parsed = parse_calls(message.get("content") or "", TOOLS)
    return [(c.name, c.arguments) for c in parsed[1]] if parsed else []


async def greffier_outcomes(
    backend, tasks: tuple[Task, ...], max_tokens: int, label: str, loop: bool
) -> tuple[list[Outcome], dict | None]:
    from rich.progress import track

    outcomes = []
    for task in track(tasks, description=label):
        start = time.perf_counter()
        calls = await greffier_calls(backend, task, max_tokens)
        outcomes.append(judge(task, calls, time.perf_counter() - start))
    found = await tool_loop(backend) if loop else None
    await backend.close()
    return outcomes, found


def summary(outcomes: list[Outcome]) -> dict:
    n = len(outcomes)
    return {
        "tasks": n,
        "valid_call_rate": sum(o.valid for o in outcomes) / n,
        "right_function_rate": sum(o.function for o in outcomes) / n,
        "right_arguments_rate": sum(o.arguments for o in outcomes) / n,
        "seconds_per_task": sum(o.seconds for o in outcomes) / n,
    }


async def tool_loop(backend) -> dict:
    """Call, result, answer: does the final answer use what the function returned?"""
    asked = Message("user", "Quel temps fait-il à Lyon ?")
    calls = await greffier_calls(backend, TASKS[0], 80)
    if not calls:
        return {"called": False, "answer_uses_result": False, "answer": ""}
    from greffier.models.backends.base import ToolCall

    call = ToolCall("call_1", calls[0][0], calls[0][1])
    history = (
        asked,
        Message("assistant", "", (call,)),
        Message("tool", '{"temperature": 23, "ciel": "dégagé"}', tool_call_id="call_1"),
    )
    text = ""
    async for event in backend.generate(
        Generation(messages=history, tools=TOOLS, temperature=0, max_tokens=80)
    ):
        if isinstance(event, TextDelta):
            text += event.text
    return {"called": True, "answer_uses_result": "23" in text, "answer": text}


def run(
    model: str,
    data_dir: Path,
    tasks: tuple[Task, ...],
    max_tokens: int = 80,
    threads: int | None = None,
) -> dict:
    """The whole comparison for one model; its figures as a dict."""
    from llama_cpp import Llama
    from rich.progress import track

    from greffier.models import files

    threads = threads or os.cpu_count() or 1
    report: dict = {"model": model, "threads": threads}
    path = None
    for grammar in (False, True):
        settings = Settings(
            data_dir=data_dir, context_size=4096, threads=threads, tool_grammar=grammar
        )
        backend = ModelRegistry(settings).chat_backend(model)
        path = files.verify(settings.models_dir, backend.entry)
        label = "grammar" if grammar else "no grammar"
        # One event loop for all of a backend's requests (its gate belongs to one loop).
        outcomes, loop = asyncio.run(
            greffier_outcomes(backend, tasks, max_tokens, f"Greffier, {label}", grammar)
        )
        report["grammar" if grammar else "no_grammar"] = summary(outcomes)
        if grammar:
            report["loop"] = loop
    llama = Llama(
        model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False
    )
    outcomes = []
    for task in track(tasks, description="llama-cpp-python"):
        start = time.perf_counter()
        calls = reference_calls(llama, task, max_tokens)
        outcomes.append(judge(task, calls, time.perf_counter() - start))
    report["llama_cpp_python"] = summary(outcomes)
    with_g, without = report["grammar"], report["no_grammar"]
    report["ratio_valid_calls"] = with_g["valid_call_rate"] / max(without["valid_call_rate"], 1e-9)
    report["ratio_seconds"] = with_g["seconds_per_task"] / without["seconds_per_task"]
    return report


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: GREFFIER_DATA_DIR")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    data = args.data_dir or Path(os.environ.get("GREFFIER_DATA_DIR") or tempfile.mkdtemp())
    report = run(args.model, data, TASKS, threads=args.threads)
    table = Table(title=f"French function calls — {args.model}, {len(TASKS)} tasks, temperature 0")
    for column in ("", "valid call", "right function", "right arguments", "s / task"):
        table.add_column(column)
    for key, label in (
        ("llama_cpp_python", "llama-cpp-python create_chat_completion"),
        ("no_grammar", "Greffier, no grammar"),
        ("grammar", "Greffier, grammar (default)"),
    ):
        row = report[key]
        table.add_row(
            label,
            f"{row['valid_call_rate']:.0%}",
            f"{row['right_function_rate']:.0%}",
            f"{row['right_arguments_rate']:.0%}",
            f"{row['seconds_per_task']:.1f}",
        )
    console = Console()
    console.print(table)
    console.print(
        f"grammar / no grammar: valid calls ×{report['ratio_valid_calls']:.2f}, "
        f"time ×{report['ratio_seconds']:.2f}; loop: {report['loop']}"
    )
    out = args.json or Path("benchmarks/results") / f"tool_calls_{args.model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    console.print(f"Saved {out}")


if __name__ == "__main__":
    main()
