"""Babel integration: an extractor for flow YAML and a catalog builder for one flow.

`pybabel extract -F babel.cfg` with `[backbone_flow: flows/**.yaml]` yields msgctxt (the
stable key) + msgid (the source text), so translators see context and stale texts show up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml
from babel.messages.catalog import Catalog
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from flows.model import Flow

STEP_TEXT_FIELDS = ("text", "reprompt", "min_label", "max_label")


def iter_flow_texts(source: str) -> Iterator[tuple[int, str, str, str]]:
    """(line, key, text, translator comment) for every translatable text in a flow document.

    Lenient on purpose: a half-broken file still yields what can be found.
    """
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return
    if not isinstance(root, MappingNode):
        return
    top = _mapping(root)
    if "agenda" in top:
        return  # an agenda (flows.agenda), not a flow: its texts are not translated here
    for key in ("title", "description"):
        node = top.get(key)
        if _is_text(node):
            yield _line(node), key, node.value.strip(), f"flow {key}"
    steps = top.get("steps")
    if not isinstance(steps, SequenceNode):
        return
    for item in steps.value:
        if not isinstance(item, MappingNode):
            continue
        fields = _mapping(item)
        step_id = fields.get("id")
        if not _is_text(step_id):
            continue
        sid = step_id.value.strip()
        step_type = fields["type"].value if _is_text(fields.get("type")) else "?"
        for name in STEP_TEXT_FIELDS:
            node = fields.get(name)
            if _is_text(node):
                yield _line(node), f"{sid}.{name}", node.value.strip(), f"step {sid} ({step_type})"
        options = fields.get("options")
        if isinstance(options, MappingNode):
            for code, label in _mapping(options).items():
                if _is_text(label):
                    yield (
                        _line(label),
                        f"{sid}.option.{code}",
                        label.value.strip(),
                        f"step {sid} ({step_type}), answer option '{code}'",
                    )


def extract_flow(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extractor: yields (lineno, "pgettext", (key, source text), [comment])."""
    raw = fileobj.read()
    text = raw.decode(options.get("encoding", "utf-8")) if isinstance(raw, bytes) else raw
    for line, key, source, comment in iter_flow_texts(text):
        yield line, "pgettext", (key, source), [comment]


def flow_catalog(
    flow: Flow, source: str | None = None, filename: str | None = None, locale: str | None = None
) -> Catalog:
    """A Babel catalog (template unless `locale`) with every text of `flow`.

    Keys and texts come from the flow; line numbers from `source` (the YAML text) when
    given, else from the steps' lines.
    """
    name = filename or (Path(flow.source_path).name if flow.source_path else None)
    name = name or f"{flow.id}.yaml"
    found = {key: (line, comment) for line, key, _t, comment in iter_flow_texts(source or "")}
    catalog = Catalog(
        locale=locale,
        project=flow.id,
        version=flow.version,
        domain=flow.id,
        charset="utf-8",
        fuzzy=False,
    )
    for key, text in flow.source_texts().items():
        line, comment = found.get(key, (None, None))
        if line is None:
            step_id = key.split(".", 1)[0]
            line = flow.step(step_id).line if flow.has_step(step_id) else 1
            comment = f"step {step_id}" if flow.has_step(step_id) else f"flow {key}"
        catalog.add(text, string="", locations=[(name, line)], auto_comments=[comment], context=key)
    return catalog


def _mapping(node: MappingNode) -> dict[str, Node]:
    found: dict[str, Node] = {}
    for key, value in node.value:
        if isinstance(key, ScalarNode):
            found.setdefault(key.value, value)
    return found


def _is_text(node: Node | None) -> bool:
    return (
        isinstance(node, ScalarNode)
        and node.tag != "tag:yaml.org,2002:null"
        and bool(node.value.strip())
    )


def _line(node: Node) -> int:
    return node.start_mark.line + 1
