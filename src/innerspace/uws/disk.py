"""A job's share of the job file system: how much a tree of its files takes (a bounded walk,
safe on a tree its app is still writing), cutting results back under a quota, how much room
is left, and what an error of that file system means to the job's owner.

All of it blocks: call it in a thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from innerspace.uws.removal import remove_tree

if TYPE_CHECKING:
    from os import _ScandirIterator

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FULL = (errno.ENOSPC, errno.EDQUOT)
NAMES_SHOWN = 5  # removed files named in a message; the rest are counted
DIRECTORY_BYTES = 4096  # what a directory is taken to count for when results are cut back


@dataclass(frozen=True)
class Entry:
    """A file met by a walk: its path below the walk's root, the bytes it counts for (see
    entry_bytes), its modification time."""

    path: str
    bytes: int
    mtime: float


@dataclass
class TreeSize:
    """What a walk found: the bytes its entries take, how many there were, the regular
    files among them (when asked for), and why it stopped early (None: it saw everything)."""

    bytes: int = 0
    entries: int = 0
    files: list[Entry] = field(default_factory=list)
    overflow: str | None = None


def entry_bytes(info: os.stat_result) -> int:
    """Bytes an entry counts for: the larger of its length and the blocks it holds, so
    that neither a sparse file nor space allocated past a file's end goes unseen (a quota
    of the disk, so a small file counts as the block it fills)."""
    allocated = info.st_blocks * 512
    return max(info.st_size, allocated) if stat.S_ISREG(info.st_mode) else allocated


def tree_size(root: Path, max_entries: int, max_depth: int, *,
              list_files: bool = False) -> TreeSize:
    """Walk `root` without recursion and without following symlinks, looking at no more
    than `max_entries` entries and `max_depth` levels; what lies beyond is named in
    `overflow`. Directories are opened relative to their parent, so no path grows long."""
    found = TreeSize()
    try:
        top = os.open(root, _DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return found
    levels: list[_Level] = []
    try:
        levels.append(_Level(top, ""))
        while levels:
            level = levels[-1]
            entry = next(level.listing, None)
            if entry is None:
                levels.pop().close()
                continue
            found.entries += 1
            if found.entries > max_entries:
                found.overflow = f"more than {max_entries} files and directories"
                break
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed by the app while the walk went by
            except OSError as exc:
                found.overflow = f"an entry the service cannot look at ({exc.strerror})"
                break
            counted = entry_bytes(info)
            found.bytes += counted
            if list_files and stat.S_ISREG(info.st_mode):
                found.files.append(Entry(level.prefix + entry.name, counted, info.st_mtime))
            if not stat.S_ISDIR(info.st_mode):
                continue
            if len(levels) >= max_depth:
                found.overflow = f"directories nested more than {max_depth} deep"
                break
            try:
                child = os.open(entry.name, _DIRECTORY, dir_fd=level.fd)
            except FileNotFoundError:
                continue
            except OSError as exc:
                found.overflow = f"a directory the service cannot open ({exc.strerror})"
                break
            levels.append(_Level(child, f"{level.prefix}{entry.name}/"))
    finally:
        for level in levels:
            level.close()
    return found


class _Level:
    """One open directory of a walk: its descriptor, its path prefix, its listing."""

    def __init__(self, fd: int, prefix: str) -> None:
        self.fd = fd
        self.prefix = prefix
        try:
            self.listing: _ScandirIterator[str] = os.scandir(fd)
        except BaseException:
            os.close(fd)
            raise

    def close(self) -> None:
        self.listing.close()
        os.close(self.fd)


@dataclass(frozen=True)
class CutBack:
    """What cutting a results tree back removed: how many files and bytes, a few of their
    names, and whether entries beyond the walk's bounds went too."""

    files: int
    bytes: int
    names: tuple[str, ...]
    beyond: str | None

    def describe(self) -> str:
        """A sentence for the job's error message, e.g. "2 files (3M) were removed: a, b"."""
        parts = []
        if self.files:
            shown = ", ".join(self.names)
            more = f" and {self.files - len(self.names)} more" if self.files > len(
                self.names) else ""
            many = self.files != 1
            parts.append(f"{self.files} file{'s' if many else ''} ({human_size(self.bytes)}) "
                         f"{'were' if many else 'was'} removed: {shown}{more}")
        if self.beyond:
            parts.append(f"what lay past the limit ({self.beyond}) was removed")
        return "; ".join(parts) if parts else "nothing had to be removed"


def cut_back(results: Path, quota: int, max_entries: int, max_depth: int) -> CutBack:
    """Keep the earliest-written regular files of `results` that fit in `quota` bytes
    together and remove everything else (later files, anything past the walk's bounds,
    symlinks and special files), so that the results end under the quota."""
    found = tree_size(results, max_entries, max_depth, list_files=True)
    kept: list[Entry] = []
    removed: list[Entry] = []
    directories: set[str] = set()  # those the kept files need, each counted as a block
    total = 0
    for entry in sorted(found.files, key=lambda e: (e.mtime, e.path)):
        parents = {p.as_posix() for p in Path(entry.path).parents if p.name} - directories
        cost = entry.bytes + DIRECTORY_BYTES * len(parents)
        if total + cost <= quota:
            kept.append(entry)
            directories |= parents
            total += cost
        else:
            removed.append(entry)
    staging = results.with_name(results.name + ".kept")
    remove_tree(staging)
    try:
        staging.mkdir()
    except OSError:  # not even room for a directory: remove what is over where it lies
        if found.overflow is not None:  # what lies past the walk cannot be reached singly
            removed += kept
            kept = []
        _remove_files(results, removed)
        if found.overflow is not None:
            remove_tree(results)
        return _cut(removed, found.overflow)
    for entry in kept:  # moved, not copied: the file system is perhaps full
        target = staging / entry.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(results / entry.path, target)
        except OSError:
            removed.append(entry)
    remove_tree(results)
    staging.rename(results)
    return _cut(removed, found.overflow)


def _remove_files(root: Path, entries: list[Entry]) -> None:
    for entry in entries:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(root / entry.path)


def _cut(removed: list[Entry], beyond: str | None) -> CutBack:
    return CutBack(len(removed), sum(e.bytes for e in removed),
                   tuple(e.path for e in removed[:NAMES_SHOWN]), beyond)


def human_size(size: int) -> str:
    """`size` bytes in a few digits, in binary multiples: 812 bytes, 3.4K, 1.5M, 10G."""
    for power, unit in ((4, "T"), (3, "G"), (2, "M"), (1, "K")):
        if size >= 1024**power:
            return f"{size / 1024**power:.1f}".removesuffix(".0") + unit
    return f"{size} bytes"


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still put on the file system holding `path`."""
    return shutil.disk_usage(path).free


def disk_problem(exc: OSError, doing: str) -> str:
    """What went wrong on the job file system while `doing` something, for a job's message:
    a full file system (or quota) is named as such, anything else by its error."""
    if exc.errno in _FULL:
        return f"the job file system is full ({doing})"
    return f"{doing} failed: {exc.strerror or exc}"
