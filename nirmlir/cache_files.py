"""Places and atomic writes for the files that nirmlir caches between processes.

The parse tables and the compiled regexes of the text syntax are built once and kept in
``__pycache__`` beside the package, or in the user's cache folder when that is not
writable. Without any writable place, each process builds them again in memory.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_candidates(name: str) -> list[Path]:
    """Return the paths where a cache file called ``name`` may be, in the order to try them."""
    user_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [Path(__file__).parent / "__pycache__" / name, Path(user_cache) / "nirmlir" / name]


def write_cache_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Returns False when the folder cannot be written, so the caller tries the next place.
    """
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        return True
    except OSError:
        return False
