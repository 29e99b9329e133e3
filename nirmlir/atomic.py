"""Atomic output: write to a temporary file in the target folder, then rename it."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from typing import IO


def _new_file_mode() -> int:
    """Return the mode a new file gets under the current umask (0666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_GROUP: ContextVar[list[tuple[str, str]] | None] = ContextVar("atomic_output_group", default=None)
"""(temporary file, target) renames that an open `output_group` does together at its end."""


@contextlib.contextmanager
def output_group() -> Iterator[None]:
    """Rename every file that `atomic_output` writes inside the block onto its target at the end, together.

    If any write in the block fails, every temporary file is removed and no target is
    replaced, so a run with several outputs replaces all of them or none. Targets that are not
    regular files (devices, pipes) are still written at once.
    """
    renames: list[tuple[str, str]] = []
    token = _GROUP.set(renames)
    try:
        yield
    except BaseException:
        for temporary, _ in renames:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        raise
    finally:
        _GROUP.reset(token)
    for temporary, target in renames:
        os.replace(temporary, target)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` and rename it onto ``path`` on success.

    If the body raises, the temporary file is removed and any existing file at ``path``
    is left untouched. A symbolic link is followed, so its target is replaced and the link
    kept. An existing file keeps its permission bits, and a new one gets the umask's. A
    target that is not a regular file (``/dev/null``, a FIFO, a terminal) is written
    directly, because renaming onto it would replace the device or pipe. A failed write
    raises DiagnosticError naming ``path``.
    """
    from nirmlir.diagnostics import DiagnosticError

    given = os.fspath(path)
    path = os.path.realpath(given)
    encoding = None if "b" in mode else "utf-8"
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise DiagnosticError(f"cannot write '{given}': it is a folder; give a file name")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        try:
            with open(path, mode, encoding=encoding) as stream:
                yield stream
        except OSError as error:
            # A full device (/dev/full) raises without a file name, so the message adds it.
            raise DiagnosticError(f"cannot write '{given}': {error.strerror or error}") from None
        return

    folder = os.path.dirname(path)
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
        )
    except OSError as error:
        raise DiagnosticError(f"cannot write '{given}': {error.strerror}") from None
    try:
        permissions = stat.S_IMODE(existing.st_mode) if existing else _new_file_mode()
        os.fchmod(descriptor, permissions)
        with os.fdopen(descriptor, mode, encoding=encoding) as stream:
            yield stream
        group = _GROUP.get()
        if group is not None:
            group.append((temporary, path))
            return
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise DiagnosticError(f"cannot write '{given}': {error.strerror or error}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
