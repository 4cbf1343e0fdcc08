"""Tests for batchbald._files: atomic writes, permissions, links, locks."""

import errno
import os
import subprocess
import sys
import threading

import pytest

from batchbald import _files
from batchbald._files import (
    atomic_write,
    backup_path,
    check_new_file,
    check_replaceable,
    current_umask,
    exclusive_lock,
    is_disk_full,
    lock_path,
)


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def _mode(path):
    return path.stat().st_mode & 0o777


def test_atomic_write_creates_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.csv"
    atomic_write(path, b"a,b\n", overwrite=False)
    assert path.read_bytes() == b"a,b\n"
    assert _leftovers(tmp_path) == []


def test_atomic_write_refuses_existing_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"mine")
    with pytest.raises(ValueError, match="already exists"):
        atomic_write(path, b"new", overwrite=False)
    assert path.read_bytes() == b"mine"
    assert _leftovers(tmp_path) == []


def test_atomic_write_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write(path, b"new", overwrite=True)
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_write_failure_keeps_old_file(tmp_path, error):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old")

    def write(tmp):
        tmp.write_bytes(b"half")
        raise error("boom")

    with pytest.raises(error):
        atomic_write(path, write, overwrite=True)
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_backup_path_never_reuses(tmp_path):
    data = tmp_path / "data.csv"
    assert backup_path(data).name == "data.csv.bak"
    (tmp_path / "data.csv.bak").write_text("x")
    assert backup_path(data).name == "data.csv.bak.1"
    (tmp_path / "data.csv.bak.1").write_text("x")
    assert backup_path(data).name == "data.csv.bak.2"


@pytest.mark.parametrize(
    "name, force, message",
    [
        ("exists.csv", False, "already exists; refusing to overwrite"),
        ("nodir/out.csv", False, "does not exist; create it first"),
        (".", True, "is a directory"),
    ],
)
def test_check_new_file_errors(tmp_path, name, force, message):
    (tmp_path / "exists.csv").write_text("x")
    with pytest.raises(ValueError, match=message):
        check_new_file(tmp_path / name, force)


def test_check_new_file_force(tmp_path):
    (tmp_path / "exists.csv").write_text("x")
    assert check_new_file(tmp_path / "exists.csv", True).name == "exists.csv"


# --------------------------------------------------------------------------
# the umask, read without changing it
# --------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002, 0o027])
def test_current_umask_matches_the_process_umask(umask):
    code = (
        "import os, sys; sys.path.insert(0, sys.argv[1]); "
        f"os.umask({umask}); from batchbald._files import current_umask; "
        "print(current_umask())"
    )
    src = os.path.dirname(os.path.dirname(_files.__file__))
    out = subprocess.run(
        [sys.executable, "-c", code, src], capture_output=True, text=True, check=True
    )
    assert int(out.stdout) == umask


def test_current_umask_fallback_without_proc(monkeypatch, tmp_path):
    expected = current_umask()
    monkeypatch.setattr(_files, "_PROC_STATUS", str(tmp_path / "missing"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    assert current_umask() == expected
    assert list(tmp_path.iterdir()) == []  # the probe file is removed


def test_atomic_write_never_touches_the_umask(monkeypatch, tmp_path):
    def forbidden(mask):
        raise AssertionError("os.umask called")

    monkeypatch.setattr(os, "umask", forbidden)
    atomic_write(tmp_path / "a.txt", b"x", overwrite=False)
    atomic_write(tmp_path / "a.txt", b"y", overwrite=True)
    assert _mode(tmp_path / "a.txt") == 0o666 & ~current_umask()


def test_files_other_threads_create_keep_their_mode(tmp_path):
    """The race of issue 14: while atomic_write runs in one thread, files that
    other threads create must get 0o666 less the umask, never 0o666."""
    expected = 0o666 & ~current_umask()
    assert expected != 0o666, "the test needs a umask that removes bits"
    stop = threading.Event()

    written = []

    def writer(t):
        k = 0
        while not stop.is_set():  # new files: the case that needs the umask
            written.append(
                atomic_write(tmp_path / f"w{t}-{k}.txt", b"data", overwrite=False)
            )
            k += 1

    made = []

    def creator(t):
        for i in range(300):
            path = tmp_path / f"c{t}-{i}.txt"
            with open(path, "w") as fh:
                fh.write("x")
            made.append(path)

    writers = [threading.Thread(target=writer, args=(t,)) for t in range(2)]
    creators = [threading.Thread(target=creator, args=(t,)) for t in range(3)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for th in writers + creators:
            th.start()
        for th in creators:
            th.join()
        stop.set()
        for th in writers:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    assert {_mode(p) for p in made} == {expected}
    assert written and {_mode(p) for p in written} == {expected}


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o400])
def test_explicit_mode(tmp_path, mode):
    path = atomic_write(tmp_path / "b.txt", b"x", overwrite=False, mode=mode)
    assert _mode(path) == mode


# --------------------------------------------------------------------------
# links and refusals
# --------------------------------------------------------------------------
def test_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.csv"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert atomic_write(link, b"new", overwrite=True) == target
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert _mode(target) == 0o600
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda p: os.chmod(p, 0o444), r"read-only \(mode 0444\)"),
        (lambda p: os.link(p, p.with_name("other.csv")), "has 2 hard links"),
        (lambda p: (p.unlink(), p.mkdir()), "not a regular file"),
    ],
)
def test_check_replaceable_refuses(tmp_path, setup, message):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a\n")
    setup(path)
    with pytest.raises(ValueError, match=message):
        check_replaceable(path, "data file")


def test_check_replaceable_accepts_a_plain_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a\n")
    assert check_replaceable(path).st_size == 2


# --------------------------------------------------------------------------
# a full disk
# --------------------------------------------------------------------------
def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["write", "fsync"])
@pytest.mark.parametrize("overwrite", [True, False])
def test_full_disk_leaves_the_old_file(tmp_path, monkeypatch, where, overwrite):
    path = tmp_path / ("out.csv" if overwrite else "new.csv")
    if overwrite:
        path.write_bytes(b"old")
    monkeypatch.setattr(os, where, _no_space)
    with pytest.raises(OSError) as info:
        atomic_write(path, b"new" * 1000, overwrite=overwrite)
    assert is_disk_full(info.value)
    assert path.read_bytes() == b"old" if overwrite else not path.exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "exc, full",
    [
        (OSError(errno.ENOSPC, "x"), True),
        (OSError(errno.EDQUOT, "x"), True),
        (OSError(errno.EACCES, "x"), False),
        (ValueError("x"), False),
    ],
)
def test_is_disk_full(exc, full):
    assert is_disk_full(exc) is full


# --------------------------------------------------------------------------
# locks
# --------------------------------------------------------------------------
def test_lock_excludes_a_second_holder(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a\n")
    with exclusive_lock(path) as lock:
        assert lock == lock_path(path) == tmp_path / ".data.csv.lock"
        with pytest.raises(ValueError, match="being written by another program"):
            with exclusive_lock(path):
                pass
    with exclusive_lock(path):  # released
        pass


def test_lock_waits_for_the_holder(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a\n")
    held, release = threading.Event(), threading.Event()

    def hold():
        with exclusive_lock(path):
            held.set()
            release.wait(60)

    th = threading.Thread(target=hold)
    th.start()
    assert held.wait(60)
    threading.Timer(0.2, release.set).start()
    with exclusive_lock(path, timeout=60):
        assert release.is_set()
    th.join()


def test_lock_excludes_another_process(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a\n")
    src = os.path.dirname(os.path.dirname(_files.__file__))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from batchbald._files import exclusive_lock\n"
        "with exclusive_lock(sys.argv[2]):\n"
        "    print('held', flush=True); sys.stdin.readline()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, src, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match="another program"):
            with exclusive_lock(path):
                pass
    finally:
        proc.communicate("\n", timeout=120)
    with exclusive_lock(path):
        pass


def test_lock_follows_a_symlink(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("a\n")
    (tmp_path / "link.csv").symlink_to(target)
    assert lock_path(tmp_path / "link.csv") == tmp_path / ".real.csv.lock"
