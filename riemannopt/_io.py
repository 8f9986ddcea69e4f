"""Writing files so that no reader, crash or Ctrl-C ever sees half of one: the one atomic write
of the package (checkpoints, histories, figures, caches), and the check of a destination before a
run starts."""

import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path

from riemannopt.errors import InputError

__all__ = ["atomic_write", "save_figure", "check_destination", "deferred_interrupt"]


@contextlib.contextmanager
def deferred_interrupt():
    """Hold back SIGINT (Ctrl-C) until the block is done, then deliver it.

    A rename that a KeyboardInterrupt cuts off leaves a temporary file and an old file behind
    while the caller has already moved on; deferring the signal over the few milliseconds of the
    write makes "written" and "returned" the same event.  If the block raises, its exception goes
    on and a held Ctrl-C is dropped (the exception ends the work anyway; delivering the interrupt
    would replace it and hide why the work stopped).  Outside the main thread (where Python
    cannot install handlers) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(frame))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    except BaseException:
        signal.signal(signal.SIGINT, previous)
        raise
    else:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, received[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM (``kill``, a batch system or a session that ends) stops the
    work as Ctrl-C does, so that a study killed this way keeps and writes what it computed.

    The signal is passed to whatever handles SIGINT at that moment: Python's handler raises
    ``KeyboardInterrupt``, and inside :func:`deferred_interrupt` the signal is held back like a
    Ctrl-C.  Where SIGINT is ignored (a job started with ``&`` from a script, or under
    ``nohup``), SIGTERM raises ``KeyboardInterrupt`` all the same: it is then the only way to
    stop the work cleanly.  Outside the main thread the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum, frame):
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, forward)
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def atomic_write(path, content, *, binary=True):
    """Write ``path`` atomically and safely against Ctrl-C: every file the package writes
    (checkpoints, histories, figures through :func:`save_figure`, generated modules, caches)
    goes through here.

    The bytes go to a temporary file in the same directory, are flushed to disk, and the file is
    renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows); SIGINT is deferred
    until the rename is done, and the temporary file is removed on any failure.

    Parameters
    ----------
    path : str or Path
    content : str, bytes or callable
        The text (written as UTF-8), the bytes, or a function called with the open temporary
        file that writes into it (for writers that take a file: ``np.savez``, ``pickle.dump``,
        ``Figure.savefig``).
    binary : bool
        For a callable ``content``: open the file in binary mode (else text, UTF-8).
    """
    if isinstance(content, str):
        text = content
        write, binary = (lambda f: f.write(text)), False
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = content
        write, binary = (lambda f: f.write(data)), True
    elif callable(content):
        write = content
    else:
        raise TypeError(f"atomic_write writes a str, bytes or a function of the file, got {type(content).__name__}")
    path = Path(path)
    if path.is_symlink():  # write where the link points, keeping the link
        path = path.resolve()
    with deferred_interrupt():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
                os.chmod(tmp, _mode(path))  # mkstemp's 0600 would make every file private
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _mode(path):
    """The permissions ``path`` keeps if it exists, else those ``open`` would give a new file."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def _read_umask():
    umask = os.umask(0)  # the only way to read it; done once, at import, before any thread
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def save_figure(figure, path, **kwargs):
    """``figure.savefig`` to ``path`` atomically, in the format its suffix names (PNG if none)."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    atomic_write(path, lambda f: figure.savefig(f, format=fmt, **kwargs))


def check_destination(path, name):
    """Check before a run starts that ``path`` can be written as a file: its directory exists and
    takes new files, and ``path`` itself is not a directory.  Returns ``path`` as a Path.

    Raises
    ------
    InputError
        Naming the argument and the path.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"{name} must be a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{name} = {str(path)!r} is a directory; give a file path")
    if path.exists() and not path.is_file():
        raise InputError(f"{name} = {str(path)!r} exists and is not a regular file")
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"{name} = {str(path)!r}: its directory {str(parent)!r} does not exist")
    # Try it: permission bits say nothing for root or on a read-only file system.  Ctrl-C is held
    # back so that it cannot leave the probe behind.
    try:
        with deferred_interrupt():
            fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{name} = {str(path)!r} cannot be written: {exc.strerror or exc}") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{name} = {str(path)!r} exists and is read-only")
    return path
