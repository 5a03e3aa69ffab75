"""Atomic file output (a file is either written completely or not at all), cross-process file locks and
the cache directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import OutputPathError


def cache_base() -> Path:
    """The cache directory of simulation builds and syntheses: ``$SRCFPGA_CACHE`` or ``~/.cache/srcfpga``."""
    base = os.environ.get("SRCFPGA_CACHE")
    return Path(base).expanduser() if base else Path.home() / ".cache" / "srcfpga"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Failures to create or replace the file raise :class:`OutputPathError` naming ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)          # mkstemp creates 0600; give the file ordinary permissions
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError as exc:         # name the file the caller asked for, not the temporary one
            raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block: one process at a time."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_writable(path: str | os.PathLike) -> Path:
    """Raise :class:`OutputPathError` unless ``path`` (a file or a directory, existing or not) can be written.

    Creates nothing: an absent path needs its nearest existing ancestor to be a writable directory; an
    existing one must be writable, and so must its directory (files are replaced atomically beside it).
    """
    path = Path(path)
    if path.exists():
        if not os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0)):
            raise OutputPathError(f"cannot write {path}: permission denied")
        if path.is_dir():
            return path
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"cannot write {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: directory {ancestor} is not writable")
    return path
