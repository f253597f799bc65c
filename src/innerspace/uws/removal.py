"""Removing a job's file tree, whatever its app left there: trees deeper than any path or
recursion limit, read-only directories and files (mode 0555, 0444, even 0000), symlinks
(removed, never followed) and special files.

The walk goes down by directory descriptors and back up through "..", so it holds two
descriptors at most and no path grows with the depth; each directory is made writable by its
owner before it is opened, which is what a service that does not run as root needs to empty
a read-only directory of its own (see docs/operations.md for the sandbox user it needs then).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OWNER_ALL = stat.S_IRWXU


def remove_tree(path: Path) -> None:
    """Remove `path` and everything under it (a no-op when it does not exist). Raises
    OSError naming the entry that could not be removed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        path.unlink(missing_ok=True)
        return
    _open_up(path, info.st_mode)
    trail: list[str] = []  # names from `path` down to the directory being emptied
    try:
        _empty(os.open(path, _DIRECTORY), trail)
        os.rmdir(path)
    except OSError as exc:
        where = "/".join([str(path), *trail])
        raise OSError(exc.errno, f"could not remove {where}: {exc.strerror}") from exc


def _empty(fd: int, trail: list[str]) -> None:
    """Empty the directory open at `fd` (which this closes), descending into its
    subdirectories one at a time; `trail` names the current directory for errors."""
    pending: list[list[tuple[str, int]]] = []  # per level: the subdirectories left
    try:
        pending.append(_clear(fd))
        while True:
            if pending[-1]:
                name, mode = pending[-1].pop()
                _open_up(name, mode, fd)
                try:
                    child = os.open(name, _DIRECTORY, dir_fd=fd)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                        raise
                    os.unlink(name, dir_fd=fd)  # swapped for a file or symlink meanwhile
                    continue
                os.close(fd)
                fd = child
                trail.append(name)
                pending.append(_clear(fd))
                continue
            if not trail:
                return
            parent = os.open("..", _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(trail.pop(), dir_fd=fd)
            pending.pop()
    finally:
        os.close(fd)


def _clear(fd: int) -> list[tuple[str, int]]:
    """Unlink every entry of the directory at `fd` that is not a directory; return the
    subdirectories (name, mode)."""
    directories: list[tuple[str, int]] = []
    with os.scandir(fd) as listing:
        for entry in listing:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                directories.append((entry.name, info.st_mode))
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.name, dir_fd=fd)
    return directories


def _open_up(name: str | Path, mode: int, dir_fd: int | None = None) -> None:
    """Give the directory's owner read, write and search permission, so that it can be
    listed and emptied. Only the owner (or root, who needs no permission) may change it;
    for anyone else the attempt fails and the removal reports what it could not remove."""
    if mode & _OWNER_ALL == _OWNER_ALL:
        return
    with contextlib.suppress(PermissionError):
        os.chmod(name, stat.S_IMODE(mode) | _OWNER_ALL, dir_fd=dir_fd)
