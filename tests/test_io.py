"""riemannopt._io: the one atomic write (temporary file, rename, Ctrl-C held back until the rename is
done, the temporary file removed on failure) and the check of a destination before a run.

The reference for a written file is the bytes the test handed to the writer; for a refused
destination, the path the test chose for its defect."""

import os
import signal
import threading

import numpy as np
import pytest

from riemannopt._io import atomic_write, check_destination, deferred_interrupt, save_figure
from riemannopt.errors import InputError

CONTENT = bytes(range(256)) * 64


def temporaries(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    atomic_write(path, lambda f: f.write(CONTENT))
    assert path.read_bytes() == CONTENT and temporaries(tmp_path) == []
    atomic_write(tmp_path / "t.txt", lambda f: f.write("λ = 45\n"), binary=False)
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "λ = 45\n"


def test_atomic_write_takes_the_text_or_the_bytes_themselves(tmp_path):
    """A str is written as UTF-8 text, bytes as they are; anything else is refused before a
    temporary file exists."""
    atomic_write(tmp_path / "t.txt", "λ = 45\n")
    assert (tmp_path / "t.txt").read_bytes() == "λ = 45\n".encode()
    atomic_write(tmp_path / "b.bin", CONTENT)
    assert (tmp_path / "b.bin").read_bytes() == CONTENT
    atomic_write(tmp_path / "m.bin", memoryview(CONTENT[:10]))
    assert (tmp_path / "m.bin").read_bytes() == CONTENT[:10]
    with pytest.raises(TypeError, match="got int"):
        atomic_write(tmp_path / "n.bin", 3)
    assert not (tmp_path / "n.bin").exists() and temporaries(tmp_path) == []


def test_every_file_the_package_writes_goes_through_atomic_write():
    """The source of the package opens no file for writing and renames or replaces nothing
    outside riemannopt/_io.py (numba's own cache files excepted: numba writes them): a search of
    the source for the calls that would."""
    import re
    from pathlib import Path

    import riemannopt

    root = Path(riemannopt.__file__).parent
    pattern = re.compile(
        r"open\([^)]*['\"][wax]b?\+?['\"]|\.write_(text|bytes)\(|os\.(replace|rename)\(|mkstemp\(|"
        r"NamedTemporaryFile|\.savefig\(|np\.savez?(_compressed)?\([^f]"
    )
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "_io.py" or "__pycache__" in path.parts:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and "atomic_write" not in line:
                offenders.append(f"{path.relative_to(root)}:{i}: {line.strip()}")
    assert offenders == []


def test_permissions_are_those_of_open_or_of_the_file_replaced(tmp_path):
    """A new file gets what ``open`` gives under the umask (not mkstemp's private 0600); a
    replaced file keeps its own mode.  Reference: a file created with ``open`` in the same place."""
    (tmp_path / "plain").write_bytes(b"")
    atomic_write(tmp_path / "new", lambda f: f.write(b"x"))
    assert (tmp_path / "new").stat().st_mode == (tmp_path / "plain").stat().st_mode
    (tmp_path / "kept").write_bytes(b"old")
    os.chmod(tmp_path / "kept", 0o640)
    atomic_write(tmp_path / "kept", lambda f: f.write(b"new"))
    assert (tmp_path / "kept").stat().st_mode & 0o7777 == 0o640


def test_an_exception_inside_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def write(f):
        f.write(CONTENT[:1000])
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        atomic_write(path, write)
    assert path.read_bytes() == b"old" and temporaries(tmp_path) == []


def test_sigint_during_the_write_is_delivered_after_the_rename(tmp_path):
    """Ctrl-C in the middle of the bytes: the write goes on, the file is renamed complete, and only
    then does KeyboardInterrupt come, once."""
    path = tmp_path / "f.bin"
    seen = []

    def write(f):
        f.write(CONTENT[:100])
        signal.raise_signal(signal.SIGINT)
        seen.append("went on")
        f.write(CONTENT[100:])

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, write)
    assert seen == ["went on"]
    assert path.read_bytes() == CONTENT and temporaries(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_failure_with_a_held_sigint_keeps_its_own_exception(tmp_path):
    """Ctrl-C during a write that then fails (a full disk, say): the failure is what the caller
    sees (an interrupt would hide why the file was not written), the old file stays, no
    temporary is left, and the handler is restored."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def write(f):
        signal.raise_signal(signal.SIGINT)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, write)
    assert path.read_bytes() == b"old" and temporaries(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_symlink_keeps_pointing_at_the_written_file(tmp_path):
    (tmp_path / "real.bin").write_bytes(b"old")
    (tmp_path / "link.bin").symlink_to(tmp_path / "real.bin")
    atomic_write(tmp_path / "link.bin", lambda f: f.write(CONTENT))
    assert (tmp_path / "link.bin").is_symlink() and (tmp_path / "real.bin").read_bytes() == CONTENT


def test_a_custom_handler_runs_once_after_the_rename(tmp_path):
    path = tmp_path / "f.bin"
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(path.read_bytes() == CONTENT))
    try:

        def write(f):
            f.write(CONTENT)
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)

        atomic_write(path, write)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls == [True]  # the file was complete when the handler ran; two signals, one delivery


def test_an_ignored_sigint_stays_ignored(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        atomic_write(tmp_path / "f.bin", lambda f: (f.write(CONTENT), signal.raise_signal(signal.SIGINT)))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (tmp_path / "f.bin").read_bytes() == CONTENT


def test_outside_the_main_thread_the_write_still_happens(tmp_path):
    errors = []

    def work():
        try:
            with deferred_interrupt():
                atomic_write(tmp_path / "f.bin", lambda f: f.write(CONTENT))
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert errors == [] and (tmp_path / "f.bin").read_bytes() == CONTENT


def test_save_figure_writes_the_format_of_the_suffix(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "a.png")
    save_figure(fig, tmp_path / "a.pdf")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
    assert temporaries(tmp_path) == []


def _readonly_place(tmp_path):
    if os.geteuid() == 0:  # permission bits do not stop root: a place no one can create files in
        return "/proc/riemannopt-out.npz"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    return locked / "out.npz"


def _fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


DESTINATIONS = [
    ("a directory", lambda d: d, "is a directory; give a file path"),
    ("a missing parent", lambda d: d / "no" / "out.npz", r"its directory '.*/no' does not exist"),
    ("a read-only place", _readonly_place, "cannot be written"),
    ("not a regular file", _fifo, "exists and is not a regular file"),
    ("None", lambda d: None, "must be a file path, got None"),
    ("a number", lambda d: 3, "must be a file path, got 3"),
    ("an empty string", lambda d: "", "must be a file path, got ''"),
]


@pytest.mark.parametrize("case", DESTINATIONS, ids=[c[0] for c in DESTINATIONS])
def test_check_destination_refuses(case, tmp_path):
    """Each defect is an InputError naming the argument and (for a path) the path, and leaves no
    probe file behind."""
    _, make, match = case
    path = make(tmp_path)
    with pytest.raises(InputError, match=match) as info:
        check_destination(path, "out")
    message = str(info.value)
    assert message.startswith("out")
    if isinstance(path, (str, os.PathLike)) and str(path):
        assert str(path) in message
    assert temporaries(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only file")
def test_check_destination_refuses_a_read_only_file(tmp_path):
    path = tmp_path / "out.npz"
    path.write_bytes(b"x")
    path.chmod(0o444)
    with pytest.raises(InputError, match="exists and is read-only"):
        check_destination(path, "out")


def test_check_destination_accepts_a_new_or_existing_file(tmp_path):
    new, old = tmp_path / "new.npz", tmp_path / "old.npz"
    old.write_bytes(b"kept")
    assert check_destination(str(new), "out") == new and not new.exists()
    assert check_destination(old, "out") == old and old.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.npz"]


def test_a_checkpoint_written_through_it_loads_back(tmp_path):
    """np.savez through atomic_write gives the arrays back."""
    a = np.arange(7.0)
    atomic_write(tmp_path / "c.npz", lambda f: np.savez(f, a=a))
    with np.load(tmp_path / "c.npz") as f:
        np.testing.assert_array_equal(f["a"], a)
