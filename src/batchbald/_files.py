"""Safe file writes: atomic replacement, permissions, backups and locks.

Everything here is free of printing and of process-wide state:

- :func:`atomic_write` writes a file through a temporary file in the same
  directory, ``fsync`` s it and moves it into place with ``os.replace`` (or,
  when overwriting is not allowed, with a hard link that fails if the target
  appeared meanwhile). A reader, a crash or Ctrl-C at any moment sees either
  the old file or the new one, never a mix; on failure (a full disk included)
  the temporary file is removed and the old file is untouched. Only
  ``SIGKILL`` or a power cut in the middle of a write can leave a stray
  ``.NAME.*.tmp`` file behind (the target is still intact).
- Permissions: a replaced file keeps its permission bits; a new file gets
  ``0o666`` less the umask, which the kernel applies when the temporary file
  is created. The umask is never changed (:func:`current_umask` reads it from
  ``/proc/self/status``), so threads creating files meanwhile are unaffected.
- Links: a symbolic link is written through (the file it points to is
  replaced, the link stays); a file with several hard links is refused, since
  replacing it would silently detach the other names (see
  :func:`check_replaceable`).
- :func:`exclusive_lock` takes an advisory ``flock`` on a sidecar
  ``.NAME.lock`` file, so that two writers of one file (two labeling sessions,
  a session and a web app) exclude each other.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "atomic_write",
    "backup_path",
    "check_new_file",
    "check_replaceable",
    "current_umask",
    "exclusive_lock",
    "is_disk_full",
    "lock_path",
    "real_path",
]

_PROC_STATUS = "/proc/self/status"


def current_umask() -> int:
    """The process umask, read without changing it.

    From the ``Umask:`` line of ``/proc/self/status`` (Linux 4.7+); elsewhere
    by creating a probe file with mode ``0o666`` in the temporary directory and
    reading the mode the kernel gave it. Neither touches process-wide state,
    unlike ``os.umask``, which is a race with other threads creating files.
    """
    try:
        with open(_PROC_STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    import tempfile

    probe = Path(tempfile.gettempdir()) / f".batchbald-umask-{secrets.token_hex(8)}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        return 0o666 & ~os.fstat(fd).st_mode & 0o777
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)


def real_path(path) -> Path:
    """``path`` with symbolic links resolved (the file a write must reach)."""
    path = Path(path)
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def check_replaceable(path, what: str = "file") -> os.stat_result:
    """Check that the existing ``path`` may be replaced by :func:`atomic_write`.

    Raises ``ValueError`` when it is read-only for its owner (mode without
    ``u+w``) or not writable by this user, when it is not a regular file, or
    when it has more than one hard link: replacing it would give this name a
    new file while the other names keep the old content. Returns its
    ``os.stat`` result.
    """
    path = Path(path)
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{what} {str(path)!r} is not a regular file.")
    if not st.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise ValueError(
            f"{what} {str(path)!r} is read-only (mode {st.st_mode & 0o777:04o}); "
            "refusing to replace it. Make it writable (chmod u+w) if it may be "
            "changed."
        )
    if st.st_nlink > 1:
        raise ValueError(
            f"{what} {str(path)!r} has {st.st_nlink} hard links; replacing it "
            "safely would detach the other names from it, and writing it in place "
            "is not crash-safe. Work on a copy (cp), or remove the other links."
        )
    return st


def check_new_file(path, force: bool = False, what: str = "output") -> Path:
    """Check that ``path`` may be written before doing any work.

    Raises ``ValueError`` (a user error) when the file exists and ``force`` is
    False, when its directory does not exist, or when it is a directory.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r} is a directory; give a file name.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(
            f"{what} directory {str(parent)!r} does not exist; create it first."
        )
    if path.exists() and not force:
        raise ValueError(
            f"{what} file {str(path)!r} already exists; refusing to overwrite it. "
            "Choose another name with --out, or pass --force to replace it."
        )
    return path


def backup_path(path) -> Path:
    """The first free backup name for ``path``: ``NAME.bak``, then
    ``NAME.bak.1``, ``NAME.bak.2``, ... Existing backups are never reused."""
    path = Path(path)
    candidate = path.with_name(path.name + ".bak")
    n = 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    return candidate


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says that the disk or the quota is full."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where unsupported)."""
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


def _create_temp(parent: Path, name: str, suffix: str, mode: int) -> tuple[int, Path]:
    """A new, empty temporary file ``.NAME.XXXX.tmp`` created with ``mode``
    (the kernel applies the umask and any default ACL)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = parent / f".{name}.{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {str(parent)!r}.")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def atomic_write(
    path,
    data: bytes | Callable[[Path], None],
    *,
    overwrite: bool,
    keep_suffix: bool = False,
    mode: int | None = None,
) -> Path:
    """Write ``path`` atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to create or replace. A symbolic link is written through:
        the file it points to is replaced and the link stays.
    data : bytes or callable
        The new content, or a function ``write(tmp_path)`` that writes it.
    overwrite : bool
        Replace an existing file. If False and ``path`` exists (even if it
        appeared while writing), nothing is changed and ``ValueError`` is
        raised.
    keep_suffix : bool, default=False
        End the temporary file's name with ``path``'s suffix too (after
        ``.tmp``), for writers that pick the format from the file name, such
        as matplotlib's ``savefig``.
    mode : int, default=None
        Permission bits of the result. None: those of the file replaced, else
        ``0o666`` less the umask.

    Returns
    -------
    pathlib.Path
        The path written (``path``, or the target of the link it names).

    Raises
    ------
    ValueError
        ``path`` exists and ``overwrite`` is False.
    OSError
        Writing failed (e.g. ``ENOSPC``: see :func:`is_disk_full`); the old
        file is unchanged and the temporary file removed.

    Notes
    -----
    The temporary file lives in the same directory (so the final rename is
    atomic), is flushed and ``fsync`` ed before the rename, and is removed on
    any failure or interruption (``KeyboardInterrupt`` included). Callers that
    must not break hard links or replace read-only files check with
    :func:`check_replaceable` first.
    """
    path = real_path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if mode is None and overwrite:
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode & 0o7777
    suffix = ".tmp" + (path.suffix if keep_suffix else "")
    fd, tmp = _create_temp(parent, path.name, suffix, 0o666 if mode is None else 0o600)
    try:
        if callable(data):
            os.close(fd)
            fd = -1
            data(tmp)
            fd = os.open(tmp, os.O_RDWR)
        else:
            _write_all(fd, data)
        if mode is not None:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            else:  # pragma: no cover - Windows
                os.chmod(tmp, mode)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
        _fsync_dir(parent)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return path


def _link_new(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` exists (no race window)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ValueError(
            f"file {str(path)!r} already exists; refusing to overwrite it "
            "(pass --force to replace it)."
        ) from None
    except OSError:  # no hard links here (some network or FAT file systems)
        if path.exists():
            raise ValueError(
                f"file {str(path)!r} already exists; refusing to overwrite it "
                "(pass --force to replace it)."
            ) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def lock_path(path) -> Path:
    """The sidecar lock file of ``path``: ``.NAME.lock`` next to it."""
    path = real_path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def exclusive_lock(path, timeout: float = 0.0, what: str = "file") -> Iterator[Path]:
    """Hold an exclusive advisory lock on ``path`` for the ``with`` block.

    The lock is an ``fcntl.flock`` on the sidecar file :func:`lock_path`
    (locking ``path`` itself would not survive its atomic replacement). Every
    writer that uses this function excludes the others, across processes and
    across threads of one process (each call opens its own descriptor). The
    sidecar file is left in place: removing it would let two writers lock two
    different files. Where ``fcntl`` is missing (Windows) no lock is taken.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to protect (symbolic links resolved).
    timeout : float, default=0.0
        Seconds to wait for another holder to finish; 0 fails at once.
    what : str, default="file"
        Used in the error message.

    Raises
    ------
    ValueError
        Another writer holds the lock after ``timeout`` seconds.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield lock_path(path)
        return
    lock = lock_path(path)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ValueError(
                        f"{what} {str(real_path(path))!r} is being written by "
                        f"another program (it holds the lock {str(lock)!r}); "
                        "finish or close that session first."
                    ) from None
                time.sleep(0.02)
        yield lock
    finally:
        os.close(fd)  # releases the lock
