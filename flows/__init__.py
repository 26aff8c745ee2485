"""The flow language: schema, loader, validator, translations and the pure engine.

Pure on purpose: nothing here imports telegram, sqlalchemy, bot or storage,
and only the loader (and translations) read files.
"""

from pathlib import Path

SHIPPED_DIR: Path = Path(__file__).resolve().parent / "shipped"

__all__ = ["SHIPPED_DIR"]
