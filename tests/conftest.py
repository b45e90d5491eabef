"""Test-session defaults: keep caches out of the home folder, and make runs reproducible."""

import os
import tempfile

_CACHE = tempfile.mkdtemp(prefix="atelier4d-test-cache-")
for variable in ("XDG_CACHE_HOME", "TORCH_EXTENSIONS_DIR", "MPLCONFIGDIR"):
    os.environ.setdefault(variable, os.path.join(_CACHE, variable.lower()))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
