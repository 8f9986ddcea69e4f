"""Training checkpoints: θ, the optimizer's state, the history and the settings in one ``.npz``.

A checkpoint is written to a temporary file in the same directory and then renamed over the old
one (``os.replace`` is atomic), so an interrupted write never leaves a truncated checkpoint.
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from riemannopt.errors import InputError

__all__ = ["save_checkpoint", "load_checkpoint", "FORMAT"]

#: Version of the checkpoint layout.
FORMAT = 1


def save_checkpoint(path, *, theta, state, history, config):
    """Write a checkpoint atomically.

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
    path = Path(path)
    arrays = {"theta": np.asarray(theta), "config": np.array(json.dumps(dict(config, format=FORMAT)))}
    arrays.update({f"state/{k}": np.asarray(v) for k, v in state.items()})
    arrays.update({f"history/{k}": np.asarray(v) for k, v in history.items()})
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
        If the file is missing or is not a riemannopt checkpoint.
    """
    path = Path(path)
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
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot resume: {str(path)!r} is not a riemannopt training checkpoint ({exc})") from None
    if config.get("format") != FORMAT:
        raise InputError(
            f"cannot resume: {str(path)!r} has checkpoint format {config.get('format')!r}, expected {FORMAT}"
        )
    return theta, state, history, config
