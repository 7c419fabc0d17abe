"""Small owner-only files (keys, ids): created atomically, never clobbered, checked on load.

Creation writes a temporary file opened with ``O_CREAT | O_EXCL`` and mode 0600, syncs it, then
publishes it with ``link()``, which fails if the name exists: a reader never sees a half-written
file, and two processes racing to create it agree on one winner.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from workprint.errors import WorkprintError


class PrivateFileError(WorkprintError):
    """A key or id file that is unsafe or unreadable."""


def create_private_file(path: Path, data: bytes) -> bool:
    """Create ``path`` (0600) holding ``data`` unless it exists; True if this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        raise PrivateFileError(f"cannot create {path}: {exc.strerror}") from None
    try:
        try:
            os.fchmod(fd, 0o600)  # the umask may only remove bits, but be explicit
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as exc:
            raise PrivateFileError(f"cannot create {path}: {exc.strerror}") from None
        _fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def read_private_file(path: Path, *, what: str, max_bytes: int = 4096) -> bytes | None:
    """Read ``path`` if it exists, refusing one that others could read or that is not ours.

    Returns None when the file does not exist."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PrivateFileError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PrivateFileError(f"{what} {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise PrivateFileError(
                f"{what} {path} has mode {mode:04o}; it must be readable by its owner only "
                f"(chmod 600 {path})"
            )
        if info.st_uid != os.getuid():
            raise PrivateFileError(f"{what} {path} belongs to uid {info.st_uid}, not to you")
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise PrivateFileError(f"{what} {path} is larger than {max_bytes} bytes")
    return data


def load_or_create_secret(
    path: Path,
    *,
    what: str,
    create: bool,
    new_content: Callable[[], bytes],
    parse: Callable[[bytes], bytes],
    error: type[WorkprintError],
) -> bytes:
    """Read a secret kept in a private file, creating it first (``new_content()``) if allowed.

    A file another process created at the same moment is read back through the same checks, so
    concurrent starters agree on one secret. Every failure is raised as ``error``."""
    for _ in range(2):
        try:
            data = read_private_file(path, what=what)
        except PrivateFileError as exc:
            raise error(str(exc)) from None
        if data is not None:
            return parse(data)
        if not create:
            raise error(f"no {what} at {path}")
        try:
            create_private_file(path, new_content())
        except PrivateFileError as exc:
            raise error(str(exc)) from None
    raise error(f"{what} {path} vanished while it was being created")


def _fsync_dir(directory: Path) -> None:
    """Make the new directory entry durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
