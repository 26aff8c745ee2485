"""Problems found in flow files, and the error that carries them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a flow file, located by file, line and (if any) step."""

    file: str
    line: int
    step_id: str | None
    message: str

    def __str__(self) -> str:
        step = f"[{self.step_id}] " if self.step_id else ""
        return f"{self.file}:{self.line}: {step}{self.message}"


class FlowError(Exception):
    """A flow could not be loaded; `problems` lists everything that is wrong, not the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
