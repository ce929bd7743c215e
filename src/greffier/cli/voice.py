"""`greffier say`: text (or a meeting's minutes) spoken into an audio file, here, with the
voice model of this machine."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from greffier.cli.context import state
from greffier.cli.documents import _operator
from greffier.errors import InvalidRequest
from greffier.services.container import Services
from greffier.services.principal import OPERATOR
from greffier.services.speech_synthesis import SpeechRequest

console = Console(stderr=True)
FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")


def say(
    ctx: typer.Context,
    text: str = typer.Argument("", help="What to say ('-' reads it from standard input)."),
    output: Path = typer.Option(..., "--output", "-o", help="Audio file to write."),
    audio_format: str | None = typer.Option(
        None, "--format", help="mp3, opus, aac, flac, wav or pcm (default: the file's suffix)."
    ),
    voice: str | None = typer.Option(None, "--voice", help="Default: the model's first."),
    model: str | None = typer.Option(None, "--model", help="Default: setting voice_model."),
    speed: float = typer.Option(1.0, "--speed", help="0.25 to 4; 1 is natural."),
    meeting: int | None = typer.Option(None, "--meeting", help="Say this meeting's minutes."),
    user: str = typer.Option("admin", help="Whose access reads the meeting."),
) -> None:
    """Speak French text into an audio file, sentence by sentence (progress bar)."""
    if text == "-":
        text = typer.get_text_stream("stdin").read()
    fmt = audio_format or output.suffix.lstrip(".").lower() or "mp3"
    if fmt not in FORMATS:
        raise InvalidRequest(
            f"Cannot tell the format from '{output.name}': add --format ({', '.join(FORMATS)})."
        )
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    who = _operator(services, user) if meeting is not None else OPERATOR
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sentences"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"Speaking into {output.name}", total=None)
        speech = services.speech.speak(
            who,
            SpeechRequest(
                text=text, model=model, voice=voice, format=fmt, speed=speed, meeting=meeting
            ),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        bar.update(task, total=speech.sentences)
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("wb") as handle:
                for chunk in speech.chunks:
                    handle.write(chunk)
            partial.replace(output)
        finally:
            partial.unlink(missing_ok=True)
    console.print(
        f"[green]✓[/] {output} ({fmt}, {speech.sentences} sentence(s), voice {speech.voice} "
        f"of {speech.model})",
        highlight=False,
    )
