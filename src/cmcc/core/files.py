"""Files written whole or not at all: under a temporary name beside the target, flushed to
disk, then renamed over it. A writer that fails or is killed (even with SIGKILL) never leaves
a target that looks complete: at most a hidden `.NAME.XXXX.partial` beside it, and an older
file of the same name stays whole until the new one replaces it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def whole_file(dest: Path, mode: int = 0o600) -> Iterator[BinaryIO]:
    """A file to write `dest` through; it becomes `dest` when the block ends without error
    (readable by its owner only unless `mode` says otherwise), and is removed on an error."""
    fd, partial = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, dest)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    sync_folder(dest.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (the folder's entry is flushed to disk)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
