"""The generator of fragmented people with known truth that ``bench/cdp_matching.py`` measures
matching on, loaded once for the tests, so tests and bench share one source of truth."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cdp_matching.py"


@functools.cache
def matching_bench() -> ModuleType:
    """``bench/cdp_matching.py`` as a module (its ``generate_fragments`` and scoring helpers)."""
    spec = importlib.util.spec_from_file_location("cdp_matching_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
