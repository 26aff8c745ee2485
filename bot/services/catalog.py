"""The flows staff keep in FLOWS_DIR, reloaded when a file changes."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flows.loader import FlowError, load_flow
from flows.model import Flow

log = logging.getLogger(__name__)


class FlowCatalog:
    """Loads every valid flow file in a directory; a broken file is logged and left out."""

    def __init__(self, directory: Path, recheck_seconds: float = 2.0) -> None:
        self.directory = Path(directory)
        self.recheck_seconds = recheck_seconds
        self._flows: dict[str, Flow] = {}
        self._signature: tuple = ()
        self._checked_at = float("-inf")

    def _files(self) -> list[Path]:
        patterns = ("*.yaml", "*.yml", "locales/*/LC_MESSAGES/*.po")
        return sorted(p for pattern in patterns for p in self.directory.glob(pattern))

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.recheck_seconds:
            return
        self._checked_at = now
        files = self._files()
        signature = tuple((str(p), p.stat().st_mtime_ns) for p in files)
        if signature == self._signature:
            return
        flows: dict[str, Flow] = {}
        for path in files:
            if path.suffix not in (".yaml", ".yml"):
                continue
            try:
                flow = load_flow(path)
            except FlowError as exc:
                log.error("flow file %s has problems and is not offered:\n%s", path.name, exc)
                continue
            if flow.id in flows:
                log.error("flow id %r appears twice; %s is not offered", flow.id, path.name)
                continue
            flows[flow.id] = flow
        self._flows = flows
        self._signature = signature
        log.info("flows loaded: %s", ", ".join(sorted(flows)) or "none")

    def get(self, flow_id: str) -> Flow | None:
        """The current definition of a flow, if it exists and is valid."""
        self._refresh()
        return self._flows.get(flow_id)

    def all(self) -> list[Flow]:
        """All valid flows, by id."""
        self._refresh()
        return [self._flows[k] for k in sorted(self._flows)]
