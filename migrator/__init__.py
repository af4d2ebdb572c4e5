"""migrator: move a legacy JSON-file document store into SQL without downtime or loss.

The public API (`migrator.api.__all__`: `open_store`, `import_store`, `validate`, ...) is
imported on first use, so that `import migrator.errors` (which every layer does) stays cheap
and free of import cycles.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    api = importlib.import_module("migrator.api")
    if name not in api.__all__:
        raise AttributeError(f"module 'migrator' has no attribute {name!r}")
    return getattr(api, name)


def __dir__() -> list[str]:
    api = importlib.import_module("migrator.api")
    return sorted({*globals(), *api.__all__})
