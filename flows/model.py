"""Pydantic model of a flow definition (what the loader produces and storage pins)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StepType(StrEnum):
    """The kinds of steps a flow can have."""

    MESSAGE = "message"
    TEXT = "text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE = "scale"
    NUMBER = "number"
    YES_NO = "yes_no"
    DATE = "date"
    VOICE = "voice"
    PHOTO = "photo"


# Steps that wait for an answer (everything but `message`).
INPUT_TYPES = frozenset(StepType) - {StepType.MESSAGE}
CHOICE_TYPES = frozenset({StepType.SINGLE_CHOICE, StepType.MULTIPLE_CHOICE})

DEFAULT_MAX_LENGTH = 2000
END = "end"  # the `next` target that finishes the run


def normalize_locale(locale: str) -> str:
    """Normalize a locale tag: 'de-DE' / 'de_de' -> 'de_DE', 'EN' -> 'en'."""
    parts = locale.replace("-", "_").split("_")
    head = parts[0].lower()
    tail = [p.upper() if len(p) == 2 else p.title() for p in parts[1:] if p]
    return "_".join([head, *tail])


def locale_candidates(locale: str) -> list[str]:
    """Lookup order for a locale: 'de_AT' -> ['de_AT', 'de']."""
    norm = normalize_locale(locale)
    base = norm.split("_")[0]
    return [norm] if norm == base else [norm, base]


class Step(BaseModel):
    """One step of a flow; which fields apply depends on `type`."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    id: str
    type: StepType
    text: str = ""
    optional: bool = False
    when: str | None = None
    reprompt: str | None = None
    next: str | None = None
    max_length: int | None = None
    options: dict[str, str] = Field(default_factory=dict)
    min: int | float | None = None
    max: int | float | None = None
    min_label: str | None = None
    max_label: str | None = None
    integer: bool = True
    line: int = 0  # line of the step in its YAML file (not part of the content hash)

    @property
    def is_input(self) -> bool:
        """True for steps that wait for an answer."""
        return self.type in INPUT_TYPES

    def effective_max_length(self) -> int:
        """Maximum accepted text length for a text step."""
        return self.max_length if self.max_length is not None else DEFAULT_MAX_LENGTH

    def choice_bounds(self) -> tuple[int, int]:
        """(min, max) number of selections for a multiple-choice step."""
        low = int(self.min) if self.min is not None else (0 if self.optional else 1)
        high = int(self.max) if self.max is not None else len(self.options)
        return low, high

    def source_texts(self) -> Iterator[tuple[str, str]]:
        """Translatable (key, source text) pairs of this step, in file order."""
        if self.text:
            yield f"{self.id}.text", self.text
        if self.reprompt:
            yield f"{self.id}.reprompt", self.reprompt
        for code, label in self.options.items():
            yield f"{self.id}.option.{code}", label
        if self.min_label:
            yield f"{self.id}.min_label", self.min_label
        if self.max_label:
            yield f"{self.id}.max_label", self.max_label


class Flow(BaseModel):
    """A whole flow: metadata, steps and the valid translations of its texts."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    version: str
    language: str = "de"
    languages: list[str] = Field(default_factory=list)
    description: str | None = None
    # Months after a run finished until the bot deletes the identity link and media
    # (storage.retention); None keeps them. Not content: left out of the content hash.
    retain_identity_months: int | None = None
    steps: list[Step]
    # locale -> key -> translated text; only translations that are current (msgid equals the
    # source text, not fuzzy) end up here, so lookups need no staleness check.
    translations: dict[str, dict[str, str]] = Field(default_factory=dict)
    source_path: str | None = None

    def step(self, step_id: str) -> Step:
        """The step with this id (KeyError if there is none)."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def index(self, step_id: str) -> int:
        """Position of the step with this id (KeyError if there is none)."""
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise KeyError(step_id)

    def has_step(self, step_id: str) -> bool:
        """True if a step with this id exists."""
        return any(step.id == step_id for step in self.steps)

    def source_texts(self) -> dict[str, str]:
        """All translatable texts, key -> source text, in file order."""
        texts = {"title": self.title}
        if self.description:
            texts["description"] = self.description
        for step in self.steps:
            texts.update(step.source_texts())
        return texts

    def source_text(self, key: str) -> str:
        """Source-language text for a translation key (KeyError if unknown)."""
        if key == "title":
            return self.title
        if key == "description":
            return self.description or ""
        step_id, _, field = key.partition(".")
        step = self.step(step_id)
        if field == "text":
            return step.text
        if field == "reprompt":
            return step.reprompt or ""
        if field == "min_label":
            return step.min_label or ""
        if field == "max_label":
            return step.max_label or ""
        if field.startswith("option."):
            return step.options[field.removeprefix("option.")]
        raise KeyError(key)

    def text(self, key: str, locale: str | None = None) -> str:
        """The text for `key` in `locale`, falling back to the source language."""
        if locale:
            for candidate in locale_candidates(locale):
                translated = self.translations.get(candidate, {}).get(key)
                if translated:
                    return translated
        return self.source_text(key)

    def locales(self) -> list[str]:
        """Languages this flow is offered in (source language first)."""
        if self.languages:
            return list(self.languages)
        found = sorted(loc for loc, texts in self.translations.items() if texts)
        return [self.language, *(loc for loc in found if loc != self.language)]

    def resolve_locale(self, locale: str | None) -> str:
        """The offered locale that best matches `locale`, else the source language."""
        offered = {normalize_locale(loc): loc for loc in self.locales()}
        if locale:
            for candidate in locale_candidates(locale):
                if candidate in offered:
                    return offered[candidate]
        return self.language

    def input_steps(self) -> list[Step]:
        """Steps that wait for an answer, in order."""
        return [step for step in self.steps if step.is_input]

    def canonical_json(self) -> str:
        """Content as canonical JSON: sorted keys, no source path, no line numbers."""
        data: dict[str, Any] = self.model_dump(
            mode="json", exclude={"source_path", "retain_identity_months"}
        )
        for step in data["steps"]:
            step.pop("line", None)
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def content_hash(self) -> str:
        """sha256 hex of the canonical JSON, so any change of file or translation shows."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
