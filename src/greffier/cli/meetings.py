"""`greffier meeting add|show`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from greffier.cli.context import state
from greffier.cli.documents import _operator
from greffier.meetings.subtitles import timestamp
from greffier.services.container import Services

console = Console()
app = typer.Typer(help="Meetings: transcribe recordings.", no_args_is_help=True)


@app.command()
def add(
    ctx: typer.Context,
    recording: Path = typer.Argument(..., exists=True, dir_okay=False),
    title: str = typer.Option(..., "--title"),
    speakers: int | None = typer.Option(None, "--speakers", help="Number of speakers, if known."),
    language: str | None = typer.Option(None, "--language", help="ISO 639-1 code, e.g. fr."),
    user: str = typer.Option("admin", help="Owner of the meeting."),
) -> None:
    """Transcribe a recording (progress bar), then print its id."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    who = _operator(services, user)
    meeting_id, job_id = services.meetings.add(
        who, title, recording.read_bytes(), recording.name, language=language, speakers=speakers
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[at]}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"Transcribing '{title}'", total=None, at="")

        def progress(done: float, total: float) -> None:
            bar.update(task, completed=done, total=total, at=timestamp(done)[:8])

        services.meetings.run_job(job_id, progress=progress)
    meeting = services.meetings.meeting(who, meeting_id)
    if meeting.status != "transcribed":
        console.print(f"[red]Failed:[/] {meeting.error}")
        raise typer.Exit(1)
    console.print(f"Meeting {meeting_id} transcribed: `greffier meeting show {meeting_id}`.")


@app.command()
def show(ctx: typer.Context, meeting_id: int, user: str = typer.Option("admin")) -> None:
    """Print the transcript with speakers and timestamps."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    who = _operator(services, user)
    meeting, segments = services.meetings.read(who, meeting_id)
    console.print(
        f"[bold]{meeting.title}[/]  ({meeting.language}, "
        f"{meeting.duration:.0f} s, {meeting.status})"
    )
    for s in segments:
        console.print(
            f"[dim][{timestamp(s.start)[:8]}][/] [bold]{s.speaker_name}[/] : {s.text}",
            highlight=False,
        )
