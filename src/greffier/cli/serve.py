"""`greffier serve` and `greffier chat`."""

from __future__ import annotations

import asyncio
import os
import sys

import typer
from rich.console import Console

from greffier.cli import logs
from greffier.cli.context import state
from greffier.models.backends.base import Generation, Message, TextDelta
from greffier.services.container import Services

err = Console(stderr=True)


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Listen address (setting host)."),
    port: int | None = typer.Option(None, help="Listen port (setting port)."),
    model: str | None = typer.Option(
        None, "--model", help="Default model (setting default_model)."
    ),
    no_worker: bool = typer.Option(
        False,
        "--no-worker",
        help="Run no background job here: `greffier worker` processes do (setting run_worker).",
    ),
) -> None:
    """Serve the OpenAI-compatible API, the web interface and the API docs."""
    import uvicorn

    from greffier.server import create_app

    settings = (
        state(ctx)
        .load(host=host, port=port, default_model=model, run_worker=False if no_worker else None)
        .settings
    )
    app = create_app(settings)
    url = f"http://{settings.host}:{settings.port}"
    docs = f"docs {url}/docs" if settings.serves_api_docs else "docs off (setting api_docs)"
    err.print(
        f"Greffier {url}  —  API {url}/v1  —  {docs}  (default model: {settings.default_model})"
    )
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=logs.config(settings.log_format, settings.log_level),
        timeout_graceful_shutdown=5,
        # X-Forwarded-For / -Proto believed from these proxies only (client address for
        # sign-in throttling, https for the Secure cookie); from nobody when none is set.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )


def worker(
    ctx: typer.Context,
    name: str = typer.Option("", help="A name for this worker in the logs (default: host:pid)."),
) -> None:
    """Run background jobs (indexing, transcription, minutes) from the PostgreSQL queue,
    until stopped (Ctrl-C, SIGTERM). Start as many as the machines allow."""
    import socket

    settings = state(ctx).load().settings
    if not settings.database_url:
        raise typer.BadParameter(
            "Workers share the PostgreSQL database of setting database_url; with the SQLite "
            "file, `greffier serve` runs the jobs itself."
        )
    logs.configure(settings.log_format, settings.log_level)
    services = Services.build(settings)
    label = name or f"{socket.gethostname()}:{os.getpid()}"
    err.print(f"Greffier worker {label}: waiting for jobs (Ctrl-C to stop).")

    async def run() -> None:
        try:
            await services.queue.work(name=label, signals=True)
        finally:
            await services.close()

    asyncio.run(run())


def chat(
    ctx: typer.Context,
    prompt: str = typer.Argument(..., help="The question."),
    model: str | None = typer.Option(None, "--model", "-m", help="Catalogue id."),
    system: str | None = typer.Option(None, "--system", help="A system message."),
    max_tokens: int | None = typer.Option(None, "--max-tokens"),
    temperature: float = typer.Option(0.7, "--temperature"),
    server: str | None = typer.Option(
        None,
        "--server",
        help="Ask a running server (e.g. http://127.0.0.1:8000/v1) instead "
        "of loading the model here; the key comes from $GREFFIER_API_KEY.",
    ),
) -> None:
    """Ask a model one question and stream the answer to the terminal."""
    settings = state(ctx).load().settings
    model_id = model or settings.default_model
    messages = ([Message("system", system)] if system else []) + [Message("user", prompt)]
    if server:
        _chat_remote(server, model_id, messages, max_tokens, temperature)
        return
    request = Generation(messages=tuple(messages), max_tokens=max_tokens, temperature=temperature)

    async def run() -> None:
        services = Services.build(settings, run_jobs=False)
        try:
            with err.status(f"Loading {model_id}…"):
                await services.chat.backend_for(model_id).load()
            async for event in services.chat.generate(model_id, request):
                if isinstance(event, TextDelta):
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
            sys.stdout.write("\n")
        finally:
            await services.close()

    asyncio.run(run())


def _chat_remote(server, model_id, messages, max_tokens, temperature) -> None:
    import openai

    client = openai.OpenAI(base_url=server, api_key=os.environ.get("GREFFIER_API_KEY", ""))
    stream = client.chat.completions.create(
        model=model_id,
        messages=[{"role": m.role, "content": m.content} for m in messages],
        max_tokens=max_tokens,
        temperature=temperature,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            sys.stdout.write(chunk.choices[0].delta.content)
            sys.stdout.flush()
    sys.stdout.write("\n")
