"""migrator: move a legacy JSON-file document store into SQL without downtime or loss.

The public API is imported lazily so that `import migrator.errors` (which every layer does)
stays cheap and free of import cycles.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "open_store": "migrator.api",
    "import_store": "migrator.api",
    "validate": "migrator.api",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'migrator' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
