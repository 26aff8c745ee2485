"""Loading api.json and checking values against it, as strictly as Telegram does.

Two entry points:

* :meth:`BotApiSpec.parse_form_value` checks one top-level request parameter as it arrives
  over HTTP (a string from a form/query/multipart body, or a native JSON value when the
  request body was JSON) and returns the parsed Python value.
* :meth:`BotApiSpec.check_object` checks a JSON value against a type of the spec; the server
  uses it on its own results and updates, so the fake cannot drift from the spec either.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

SPEC_ENV = "BACKBONE_TEST_BOTAPI_SPEC"
PRIMITIVES = ("Integer", "Float", "Boolean", "String", "InputFile")
_INT_RE = re.compile(r"^[+-]?\d+$")
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always)\s*[\"“*]?([A-Za-z0-9_]+)")


def default_spec_path() -> Path:
    """`$BACKBONE_TEST_BOTAPI_SPEC`, else the copy kept in `tests/fakebot/botapi/api.json`."""
    env = os.environ.get(SPEC_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "botapi" / "api.json"


class SpecError(ValueError):
    """A value does not match the spec. `problem` is the part after 'Bad Request: '."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class Field:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class Uploaded:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    content_type: str

    def __repr__(self) -> str:  # keep call logs short
        return f"Uploaded({self.filename!r}, {len(self.data)} bytes, {self.content_type!r})"


class BotApiSpec:
    def __init__(self, raw: dict[str, Any]):
        self.version: str = raw.get("version", "?")
        self.methods: dict[str, dict[str, Field]] = {}
        self.method_returns: dict[str, tuple[str, ...]] = {}
        for name, m in raw["methods"].items():
            self.methods[name] = {f["name"]: _field(f) for f in m.get("fields", [])}
            self.method_returns[name] = tuple(m.get("returns", []))
        self.types: dict[str, dict[str, Field]] = {}
        self.subtypes: dict[str, tuple[str, ...]] = {}
        for name, t in raw["types"].items():
            if t.get("subtypes"):
                self.subtypes[name] = tuple(t["subtypes"])
            else:
                self.types[name] = {f["name"]: _field(f) for f in t.get("fields", [])}
        self._method_by_lower = {n.lower(): n for n in self.methods}
        # discriminator (field name, value) of each concrete subtype, e.g. ("type", "default")
        self.discriminators: dict[str, tuple[str, str]] = {}
        for subs in self.subtypes.values():
            for sub in subs:
                fields = self.types.get(sub)
                if not fields:
                    continue
                for dname in _DISCRIMINATOR_FIELDS:
                    f = fields.get(dname)
                    if f is None:
                        continue
                    m = _DISCRIMINATOR_RE.search(f.description)
                    if m:
                        self.discriminators[sub] = (dname, m.group(1))
                        break

    # ------------------------------------------------------------------ lookups
    def method_name(self, name: str) -> str | None:
        """Spec spelling of a method name (Telegram matches case-insensitively)."""
        return self._method_by_lower.get(name.lower())

    def is_object_type(self, t: str) -> bool:
        return t in self.types or t in self.subtypes

    # ------------------------------------------------------------ form values
    def parse_form_value(self, method: str, field: Field, value: Any) -> Any:
        """Check one top-level parameter; return the parsed value.

        `value` is a str (form/query/multipart), an :class:`Uploaded` file part, or a native
        JSON value (JSON request body).
        """
        name = field.name
        if isinstance(value, Uploaded):
            if "InputFile" in field.types:
                return value
            raise SpecError(f'parameter "{name}" must not be a file')
        if not isinstance(value, str):
            # JSON request body: structured values may be native, scalars too.
            return self._check_json(value, field.types, name, top=name)
        errors: list[str] = []
        # Structured types first when the value looks like JSON, so error messages are useful.
        structured = [t for t in field.types if t not in PRIMITIVES]
        scalars = [t for t in field.types if t in PRIMITIVES]
        stripped = value.strip()
        if structured and (stripped.startswith("{") or stripped.startswith("[") or not scalars):
            try:
                decoded = json.loads(value)
            except ValueError:
                if not scalars:
                    raise SpecError(
                        f'can\'t parse {name}: "{_short(value)}" is not valid JSON'
                    ) from None
            else:
                try:
                    return self._check_json(decoded, tuple(structured), name, top=name)
                except SpecError as exc:
                    if not scalars:
                        raise SpecError(f"can't parse {name}: {exc.problem}") from None
                    errors.append(exc.problem)
        for t in scalars:
            try:
                return _parse_scalar(t, value)
            except ValueError:
                continue
        if errors:
            raise SpecError(f"can't parse {name}: {errors[0]}")
        expected = " or ".join(field.types)
        raise SpecError(
            f'wrong type of parameter "{name}": expected {expected}, got "{_short(value)}"'
        )

    # ------------------------------------------------------------ JSON values
    def check_object(self, value: Any, type_expr: str | tuple[str, ...], path: str = "") -> Any:
        types = (type_expr,) if isinstance(type_expr, str) else tuple(type_expr)
        return self._check_json(value, types, path or types[0], top=path or types[0])

    def _check_json(self, value: Any, types: tuple[str, ...], path: str, top: str) -> Any:
        """Check `value` against the union `types`; raise SpecError naming the best match."""
        if len(types) == 1:
            return self._check_one(value, types[0], path, top)
        failures: list[tuple[int, SpecError]] = []
        for t in types:
            try:
                return self._check_one(value, t, path, top)
            except SpecError as exc:
                failures.append((self._closeness(value, t), exc))
        failures.sort(key=lambda x: -x[0])
        raise failures[0][1]

    def _closeness(self, value: Any, t: str) -> int:
        """How likely it is that `value` was meant to be a `t` (to pick the error to show)."""
        if t.startswith("Array of "):
            return 1 if isinstance(value, list) else 0
        if t in PRIMITIVES:
            return 1 if not isinstance(value, dict | list) else 0
        if not isinstance(value, dict):
            return 0
        fields = self._fields_of(t)
        return 2 + sum(1 for k in value if k in fields)

    def _fields_of(self, t: str) -> set[str]:
        if t in self.types:
            return set(self.types[t])
        out: set[str] = set()
        for sub in self.subtypes.get(t, ()):
            out |= self._fields_of(sub) if sub not in PRIMITIVES else set()
        return out

    def _check_one(self, value: Any, t: str, path: str, top: str) -> Any:
        if t.startswith("Array of "):
            inner = t[len("Array of ") :]
            if not isinstance(value, list):
                raise SpecError(f"{path}: expected an array ({t})")
            return [self._check_json(v, (inner,), f"{path}[{i}]", top) for i, v in enumerate(value)]
        if t == "Integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpecError(f"{path}: field must be of type Integer, got {_jtype(value)}")
            return value
        if t == "Float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"{path}: field must be of type Float, got {_jtype(value)}")
            return value
        if t == "Boolean":
            if not isinstance(value, bool):
                raise SpecError(f"{path}: field must be of type Boolean, got {_jtype(value)}")
            return value
        if t in ("String", "InputFile"):
            if not isinstance(value, str):
                raise SpecError(f"{path}: field must be of type String, got {_jtype(value)}")
            return value
        if t in self.subtypes:
            subs = self.subtypes[t]
            if isinstance(value, dict):
                for dname in _DISCRIMINATOR_FIELDS:
                    if dname in value:
                        matching = [
                            s for s in subs if self.discriminators.get(s) == (dname, value[dname])
                        ]
                        if matching:
                            return self._check_json(value, tuple(matching), path, top)
                        if any(self.discriminators.get(s, ("",))[0] == dname for s in subs):
                            raise SpecError(f'{path}: unsupported {t} {dname} "{value[dname]}"')
            return self._check_json(value, subs, path, top)
        if t not in self.types:
            raise SpecError(f"{path}: unknown type {t} in spec")
        if not isinstance(value, dict):
            raise SpecError(f"{path}: expected a JSON object ({t}), got {_jtype(value)}")
        fields = self.types[t]
        for key in value:
            if key not in fields:
                raise SpecError(f'{path}: unknown field "{key}" in {t}')
        for f in fields.values():
            if f.required and f.name not in value:
                raise SpecError(f'{path}: {t} is missing required field "{f.name}"')
        if t in self.discriminators:
            dname, dval = self.discriminators[t]
            if value.get(dname) != dval:
                raise SpecError(f'{path}.{dname}: must be "{dval}" for {t}')
        out = {}
        for key, v in value.items():
            out[key] = self._check_json(v, fields[key].types, f"{path}.{key}", top)
        return out


def _field(f: dict[str, Any]) -> Field:
    return Field(f["name"], tuple(f["types"]), bool(f.get("required")), f.get("description", ""))


def _parse_scalar(t: str, value: str) -> Any:
    if t == "String":
        return value
    if t == "InputFile":
        # a string is an InputFile only as attach://<name>; file ids/URLs are the String type
        if value.startswith("attach://"):
            return value
        raise ValueError(value)
    if t == "Integer":
        if not _INT_RE.match(value.strip()):
            raise ValueError(value)
        return int(value)
    if t == "Float":
        f = float(value)  # raises ValueError
        if f != f or f in (float("inf"), float("-inf")):
            raise ValueError(value)
        return f
    if t == "Boolean":
        low = value.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
        raise ValueError(value)
    raise ValueError(t)


def _jtype(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "Boolean"
    if isinstance(v, int):
        return "Integer"
    if isinstance(v, float):
        return "Float"
    if isinstance(v, str):
        return "String"
    if isinstance(v, list):
        return "Array"
    return "Object"


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


@lru_cache(maxsize=4)
def _load(path: str) -> BotApiSpec:
    with open(path, encoding="utf-8") as fh:
        return BotApiSpec(json.load(fh))


def load_spec(path: str | os.PathLike[str] | None = None) -> BotApiSpec:
    p = Path(path) if path is not None else default_spec_path()
    if not p.is_file():
        raise FileNotFoundError(
            f"Bot API spec not found at {p}; set {SPEC_ENV} to the path of api.json"
        )
    return _load(str(p.resolve()))
