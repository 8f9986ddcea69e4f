"""Training checkpoints: θ, the optimizer's state, the history and the settings in one ``.npz``.

A checkpoint is written with :func:`riemannopt._io.atomic_write` (a temporary file in the same
directory, renamed over the old one, Ctrl-C held back until the rename is done), so no crash or
interrupt ever leaves a truncated checkpoint or a stray temporary file, and what is on disk is
always a whole iteration.  :func:`check_checkpoint` validates a loaded checkpoint entry by entry
against the run that resumes it, before any work.
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from riemannopt._checks import check_number
from riemannopt._io import atomic_write
from riemannopt.errors import InputError

__all__ = ["save_checkpoint", "load_checkpoint", "check_checkpoint", "FORMAT"]

#: Version of the checkpoint layout.
FORMAT = 1


def save_checkpoint(path, *, theta, state, history, config):
    """Write a checkpoint atomically (and safely against Ctrl-C).

    Parameters
    ----------
    path : str or Path
    theta : ndarray
        θ on the host.
    state : dict
        The optimizer's state: numbers and host arrays.
    history : dict
        ``{key: 1-D array}``.
    config : dict
        JSON-serializable settings of the run, checked on resume.
    """
    arrays = {"theta": np.asarray(theta), "config": np.array(json.dumps(dict(config, format=FORMAT)))}
    arrays.update({f"state/{k}": np.asarray(v) for k, v in state.items()})
    arrays.update({f"history/{k}": np.asarray(v) for k, v in history.items()})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns
    -------
    theta : ndarray
    state : dict
        Arrays of shape ``()`` come back as Python numbers.
    history : dict
    config : dict

    Raises
    ------
    InputError
        If the path is missing or a directory, or the file is not a riemannopt checkpoint (empty,
        not an ``.npz``, no ``theta`` or ``config``, another format); the message names the file.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InputError(f"cannot resume: the checkpoint must be a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot resume: checkpoint {str(path)!r} is a directory, not a checkpoint file")
    if not path.is_file():
        raise InputError(f"cannot resume: checkpoint {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            theta = data["theta"]
            state, history = {}, {}
            for key in data.files:
                if key.startswith("state/"):
                    value = data[key]
                    state[key[6:]] = value.item() if value.ndim == 0 else value
                elif key.startswith("history/"):
                    history[key[8:]] = data[key]
    # np.load of an empty file raises EOFError, of a .npy file returns an array (no context
    # manager: AttributeError), of an object array ValueError.
    except (OSError, EOFError, ValueError, KeyError, AttributeError, TypeError, zipfile.BadZipFile) as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise InputError(f"cannot resume: {str(path)!r} is not a riemannopt training checkpoint ({reason})") from None
    if not isinstance(config, dict):
        raise InputError(
            f"cannot resume: {str(path)!r} is not a riemannopt training checkpoint (its config is not a dict)"
        )
    if config.get("format") != FORMAT:
        raise InputError(
            f"cannot resume: {str(path)!r} has checkpoint format {config.get('format')!r}, expected {FORMAT}"
        )
    return theta, state, history, config


def _vector(where, entry, value, n, dtype):
    a = np.asarray(value)
    if a.shape != (n,):
        raise InputError(f"{where}: {entry} must have shape ({n},) for this network, got {a.shape}")
    if a.dtype != dtype:
        raise InputError(f"{where}: {entry} must be {dtype.name} like this run, got {a.dtype}")
    if not np.isfinite(a).all():
        i = int(np.argmax(~np.isfinite(a)))
        raise InputError(f"{where}: {entry}[{i}] = {a[i]} is not finite")
    return a


def check_checkpoint(path, loaded, *, config, n_params, dtype, state_spec, history_keys):
    """Validate a loaded checkpoint whole against the run that resumes it.

    Parameters
    ----------
    path : str or Path
        The file (for the messages).
    loaded : tuple
        What :func:`load_checkpoint` returned.
    config : dict
        This run's settings: every entry must be in the checkpoint's, with the same value.
    n_params : int
        Length of θ and of every state vector.
    dtype : numpy.dtype
        The run's floating type (of θ and of the state vectors).
    state_spec : dict
        ``{name: (kind, required)}`` with kind ``"vector"``, ``"positive"`` (a finite number
        > 0) or ``"count"`` (an integer ≥ 0): the optimizer's state entries.
    history_keys : tuple of str
        The history entries of this run, all 1-D and of one length ``n ≥ 1``, with
        ``iteration = 0, 1, ..., n − 1`` and finite, non-negative, non-decreasing times.

    Returns
    -------
    theta, state, history : ndarray, dict, dict
        As loaded (the state's vectors and θ checked, the history's arrays 1-D).

    Raises
    ------
    InputError
        Naming the file and the first entry that is missing, unexpected, of the wrong shape,
        type or value, or that does not match this run.
    """
    theta, state, history, saved = loaded
    where = f"cannot resume from {str(path)!r}"
    saved = {k: v for k, v in saved.items() if k != "format"}
    for key, value in config.items():
        if key not in saved:
            raise InputError(f"{where}: its config lacks {key!r} (this run has {key}={value!r})")
        if saved[key] != value:
            raise InputError(f"{where}: it was written with {key}={saved[key]!r}, this run has {key}={value!r}")
    theta = _vector(where, "theta", theta, n_params, dtype)

    for name, (kind, required) in state_spec.items():
        entry = f"state/{name}"
        if name not in state:
            if required:
                raise InputError(f"{where}: the entry {entry} is missing")
            continue
        value = state[name]
        if kind == "vector":
            state[name] = _vector(where, entry, value, n_params, dtype)
            continue
        if kind == "count":
            state[name] = check_number(value, f"{where}: {entry}", integer=True, low=0)
        else:
            state[name] = check_number(value, f"{where}: {entry}", low=0, strict=True)
    unknown = sorted(set(state) - set(state_spec))
    if unknown:
        raise InputError(f"{where}: state/{unknown[0]} is not a state entry of method {config.get('method')!r}")

    for key in history_keys:
        if key not in history:
            extra = " (this run has test data; the checkpoint's run had none)" if key.startswith("test_") else ""
            raise InputError(f"{where}: the entry history/{key} is missing{extra}")
    unknown = sorted(set(history) - set(history_keys))
    if unknown:
        extra = (
            " (the checkpoint's run had test data; give X_test and T_test)" if unknown[0].startswith("test_") else ""
        )
        raise InputError(f"{where}: history/{unknown[0]} is not a history entry of this run{extra}")
    n = None
    for key in history_keys:
        a = np.asarray(history[key])
        if a.ndim != 1 or a.dtype.kind not in "fiub":
            raise InputError(f"{where}: history/{key} must be a 1-D numeric array, got shape {a.shape} of {a.dtype}")
        if n is None:
            n = len(a)
            if n == 0:
                raise InputError(f"{where}: history/{key} is empty (a checkpoint holds at least iteration 0)")
        elif len(a) != n:
            raise InputError(
                f"{where}: history/{key} has {len(a)} entries, history/{history_keys[0]} has {n} (a ragged history)"
            )
        history[key] = a
    if not np.array_equal(history["iteration"], np.arange(n)):
        raise InputError(f"{where}: history/iteration must be 0, 1, ..., {n - 1}, got {history['iteration']}")
    for key in ("seconds", "cpu_seconds"):
        t = history[key]
        if not (np.isfinite(t).all() and t[0] >= 0 and np.all(np.diff(t) >= 0)):
            raise InputError(f"{where}: history/{key} must be finite, >= 0 and non-decreasing, got {t}")
    return theta, state, history
