"""Data for training: generated CURVES-like images, a generated classification set, scikit-learn's
bundled handwritten digits, a user's ``.npz``.  Nothing downloads.

* :func:`curves`: images of smooth curves through three random points, drawn with an
  anti-aliased pen into ``[0, 1]`` pixels, like the CURVES set of Hinton & Salakhutdinov (2006)
  used by Martens (2010) and the paper (§7.2), which is itself synthetic.
* :func:`spirals`: interleaved spiral arms, one per class, embedded in more dimensions — a
  classification set no linear classifier can solve, for the ``softmax_ce`` classifier.
* :func:`digits`: the 1797 8×8 handwritten digits that scikit-learn ships inside its wheel
  (``sklearn.datasets.load_digits``; the optional ``data`` extra:
  ``pip install "riemannopt[data]"``) — real images, a small MNIST.
* :func:`load_npz`: a user's arrays (e.g. MNIST, which cannot be generated).

Every generator is deterministic given its seed, and its training and test sets come from
separate random streams (the test set does not change with ``n_train``); :func:`digits` splits
the fixed images by a seeded permutation, its test set likewise independent of ``n_train``.
"""

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riemannopt._checks import allocate, as_float_array, check_finite, check_number
from riemannopt.errors import BackendUnavailableError, InputError, ShapeError

__all__ = ["Dataset", "curves", "spirals", "digits", "require_sklearn", "load_npz"]


@dataclass
class Dataset:
    """Training and test data of one task.

    Attributes
    ----------
    name : str
    X_train, T_train, X_test, T_test : ndarray
        Inputs (one row per example) and targets: for an auto-encoder the targets are the
        inputs; for a classifier, integer labels.
    task : {"autoencoder", "classifier", "supervised"}
        ``supervised``: a user's targets of shape ``(n, outputs)``.
    """

    name: str
    X_train: np.ndarray
    T_train: np.ndarray
    X_test: np.ndarray
    T_test: np.ndarray
    task: str

    @property
    def n_train(self):
        return len(self.X_train)

    @property
    def n_test(self):
        return len(self.X_test)

    def __repr__(self):
        return (
            f"Dataset({self.name!r}, {self.task}, {self.n_train} train / {self.n_test} test, "
            f"{self.X_train.shape[1]} inputs)"
        )


def _count(name, value, low=0):
    return check_number(value, name, integer=True, low=low)


#: Bytes of the temporaries of one block of :func:`_draw` at most (a block of images is drawn at
#: once; huge images are drawn a few at a time).
_DRAW_BYTES = 256 * 2**20
#: Points of each drawn polyline.
_SAMPLES = 24


# -- CURVES ---------------------------------------------------------------------------------------


def _curve_points(rng, n, size, samples):
    """Polylines of ``samples`` points on the parabola through three random points.

    The three points are uniform in the image (a margin of one pen width); the curve is the
    quadratic interpolant through them with the chord-length parameterization, sampled evenly in
    its parameter.
    """
    margin = 0.12 * size
    p = rng.uniform(margin, size - margin, (n, 3, 2))
    chord = np.linalg.norm(np.diff(p, axis=1), axis=2)  # (n, 2)
    t1 = chord[:, 0] / np.maximum(chord.sum(axis=1), 1e-9)  # parameter of the middle point
    t1 = np.clip(t1, 0.05, 0.95)[:, None, None]
    t = np.linspace(0.0, 1.0, samples)[None, :, None]
    # Lagrange basis on the nodes 0, t1, 1.
    l0 = (t - t1) * (t - 1) / t1
    l1 = t * (t - 1) / (t1 * (t1 - 1))
    l2 = t * (t - t1) / (1 - t1)
    return l0 * p[:, None, 0] + l1 * p[:, None, 1] + l2 * p[:, None, 2]


def _draw(lines, size, width):
    """Anti-aliased pen: each pixel's intensity is the fraction of its unit square that a pen of
    ``width`` pixels covers, approximated by ``clip(width/2 + ½ − distance, 0, 1)`` with the
    distance from the pixel's centre to the polyline."""
    c = np.arange(size) + 0.5
    centers = np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1).reshape(-1, 2)  # (P, 2): (row, col)
    a = lines[:, :-1]  # (n, K, 2) segment starts
    d = lines[:, 1:] - a
    dd = np.maximum(np.sum(d * d, axis=2), 1e-12)  # (n, K)
    rel = centers[None, :, None, :] - a[:, None, :, :]  # (n, P, K, 2)
    s = np.clip(np.einsum("npkj,nkj->npk", rel, d) / dd[:, None, :], 0.0, 1.0)
    gap = rel - s[..., None] * d[:, None, :, :]
    dist = np.sqrt(np.min(np.sum(gap * gap, axis=3), axis=2))  # (n, P)
    return np.clip(0.5 * width + 0.5 - dist, 0.0, 1.0)


def _draw_temporaries(size, samples=_SAMPLES):
    """The shape of the temporaries of one block of :func:`_draw` (it holds about four such
    float64 arrays): ``(4 · block, size², samples − 1, 2)``, with ``block`` (≤ 128) images drawn at
    once so that they stay under :data:`_DRAW_BYTES` when they can."""
    block = int(min(128, max(1, _DRAW_BYTES // (4 * 8 * 2 * (samples - 1) * size * size))))
    return (4 * block, size * size, samples - 1, 2)


def _curve_images(rng, out, size, width, samples=_SAMPLES):
    n = len(out)
    block = _draw_temporaries(size, samples)[0] // 4
    for start in range(0, n, block):
        stop = min(start + block, n)
        out[start:stop] = _draw(_curve_points(rng, stop - start, size, samples), size, width)
    return out


def curves(n_train, n_test, size=28, seed=0, *, width=None):
    """CURVES-like images for a deep auto-encoder (paper §7.2; Hinton & Salakhutdinov 2006).

    Each image is a smooth curve — the parabola through three random points of the image — drawn
    with an anti-aliased pen of ``width`` pixels, so its pixels lie in ``[0, 1]`` with soft
    edges.  The targets are the images themselves.

    Parameters
    ----------
    n_train, n_test : int
        Numbers of training and test images.
    size : int
        Images are ``size × size`` (flattened row by row into ``size²`` inputs); 28 as in CURVES.
    seed : int
    width : float, optional
        Pen width in pixels (default ``1.2 · size / 28``, at least 1.2).

    Returns
    -------
    Dataset
        ``task = "autoencoder"``, ``X_train`` of shape ``(n_train, size²)``, float64.

    Raises
    ------
    InputError
        A count or ``seed`` that is not an integer in range, a ``width`` that is not a finite
        number > 0, or images (with the drawing's temporaries) that need more memory than the
        machine has — before anything is drawn.
    """
    n_train, n_test = _count("n_train", n_train, 1), _count("n_test", n_test)
    size = _count("size", size, 4)
    seed = _count("seed", seed)
    width = max(1.2, 1.2 * size / 28) if width is None else check_number(width, "width", low=0, strict=True)
    # The drawing's temporaries are checked with the images (and left to the allocator: np.empty
    # only reserves address space).
    X_train, X_test, _ = allocate(
        [(n_train, size * size), (n_test, size * size), _draw_temporaries(size)],
        f"curves(n_train={n_train}, n_test={n_test}, size={size}): {n_train + n_test} images of {size * size} "
        "pixels and their drawing",
    )
    _curve_images(np.random.default_rng([seed, 0]), X_train, size, width)
    _curve_images(np.random.default_rng([seed, 1]), X_test, size, width)
    return Dataset(f"curves{size}", X_train, X_train, X_test, X_test, "autoencoder")


# -- spirals --------------------------------------------------------------------------------------


def _spiral_points(rng, X, classes, turns, noise, embed):
    n = len(X)
    labels = rng.integers(0, classes, n)
    t = np.sqrt(rng.uniform(0.0, 1.0, n))  # uniform density along the arm's area
    angle = 2 * np.pi * (turns * t + labels / classes)
    xy = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    xy += noise * rng.standard_normal(xy.shape)
    np.matmul(xy, embed, out=X)
    return X, labels


def spirals(n_train, n_test, classes=5, dim=20, seed=0, *, turns=1.0, noise=0.02):
    """A classification set that is not linearly separable: ``classes`` interleaved spiral arms.

    In the plane, class ``c`` lies near the arm ``t·(cos φ, sin φ)``,
    ``φ = 2π(turns·t + c/classes)``, ``t ∈ [0, 1]``, with Gaussian noise; the plane is then
    embedded in ``dim`` dimensions by a scaled isometry that spreads each planar direction over
    every input (so the problem keeps its difficulty but the network cannot read the two
    coordinates off two inputs), scaled so that every input has variance about 1.  Every arm
    winds around the centre, so no linear classifier separates them (the best one errs on a
    large share of the points).

    Parameters
    ----------
    n_train, n_test : int
    classes : int
        At least 2.
    dim : int
        Input dimension, at least 2.
    seed : int
    turns, noise : float
        Turns of each arm over ``t ∈ [0, 1]`` and standard deviation of the noise.

    Returns
    -------
    Dataset
        ``task = "classifier"``; ``T_train``, ``T_test`` integer labels in ``[0, classes)``.

    Raises
    ------
    InputError
        A count or ``seed`` that is not an integer in range, ``turns`` or ``noise`` not a
        finite number >= 0, or inputs that need more memory than the machine has — before
        anything is drawn.
    """
    n_train, n_test = _count("n_train", n_train, 1), _count("n_test", n_test)
    classes, dim, seed = _count("classes", classes, 2), _count("dim", dim, 2), _count("seed", seed)
    turns, noise = check_number(turns, "turns", low=0), check_number(noise, "noise", low=0)
    X_train, X_test = allocate(
        [(n_train, dim), (n_test, dim)],
        f"spirals(n_train={n_train}, n_test={n_test}, dim={dim}): {n_train + n_test} points of {dim} inputs",
    )
    # Column j of the embedding is 2·(cos α_j, sin α_j) with the α_j evenly spread over a half
    # circle (offset and order random; Σ cos 2α_j = Σ sin 2α_j = 0 for dim ≥ 2): its two rows are
    # orthogonal with equal norms (a scaled isometry of the plane), and since each planar
    # coordinate has variance about ¼, every input gets variance about 1.
    rng = np.random.default_rng([seed, 2])
    alpha = rng.permutation(np.pi * np.arange(dim) / dim + rng.uniform(0, 2 * np.pi))
    embed = 2.0 * np.vstack([np.cos(alpha), np.sin(alpha)])
    X_train, T_train = _spiral_points(np.random.default_rng([seed, 0]), X_train, classes, turns, noise, embed)
    X_test, T_test = _spiral_points(np.random.default_rng([seed, 1]), X_test, classes, turns, noise, embed)
    return Dataset(f"spirals{classes}", X_train, T_train, X_test, T_test, "classifier")


# -- scikit-learn's digits ------------------------------------------------------------------------

#: Images of :func:`digits` (scikit-learn's bundled copy of the UCI optical digits test set).
DIGITS_IMAGES = 1797


def require_sklearn():
    """``sklearn.datasets.load_digits``, or a :class:`~riemannopt.errors.BackendUnavailableError`
    saying how to install scikit-learn (the ``data`` extra)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the digits data set is the one bundled with scikit-learn, which is not installed ({exc}); "
            'install the data extra: pip install "riemannopt[data]"'
        ) from None
    return load_digits


def _digit_images():
    """The 1797 images (pixels 0–16 as float64) and labels, read once from scikit-learn's wheel."""
    global _DIGITS
    if _DIGITS is None:
        load_digits = require_sklearn()
        bunch = load_digits()
        X = np.asarray(bunch.data, dtype=np.float64)
        y = np.asarray(bunch.target, dtype=np.int64)
        if X.shape != (DIGITS_IMAGES, 64) or y.shape != (DIGITS_IMAGES,):
            raise InputError(f"sklearn.datasets.load_digits returned {X.shape} images, expected ({DIGITS_IMAGES}, 64)")
        X.flags.writeable = y.flags.writeable = False
        _DIGITS = (X, y)
    return _DIGITS


_DIGITS = None


def digits(n_train=1200, n_test=597, seed=0, *, task="classifier", standardize=False):
    """Real handwritten digits: the 1797 8×8 images bundled with scikit-learn
    (``sklearn.datasets.load_digits``, read from its wheel, nothing downloaded), 64 inputs.

    The pixels (0–16) are divided by 16 into ``[0, 1]``.  Seed ``s`` permutes the images once:
    the training set is the first ``n_train`` of the permutation and the test set its last
    ``n_test`` (so the test set does not change with ``n_train``); the two never overlap.

    Parameters
    ----------
    n_train, n_test : int
        ``n_train + n_test`` at most 1797 (default: 1200 and the other 597).
    seed : int
    task : {"classifier", "autoencoder"}
        Targets: the labels 0–9, or the images themselves.
    standardize : bool
        Subtract the mean and divide by the standard deviation of all the pixels of the training
        and test images (one number each), as the paper's code does for its MNIST classifier;
        otherwise the inputs stay in ``[0, 1]`` (an auto-encoder's ``bce`` targets must).

    Returns
    -------
    Dataset
        ``X_train`` of shape ``(n_train, 64)``, float64; ``T_train`` integer labels in
        ``[0, 10)`` (classifier) or ``X_train`` itself (auto-encoder).

    Raises
    ------
    InputError
        Counts or ``seed`` that are not integers in range, ``n_train + n_test > 1797``, an
        unknown ``task``, or ``standardize`` not a bool.
    BackendUnavailableError
        scikit-learn is not installed (``pip install "riemannopt[data]"``).
    """
    n_train, n_test, seed = _count("n_train", n_train, 1), _count("n_test", n_test), _count("seed", seed)
    if n_train + n_test > DIGITS_IMAGES:
        raise InputError(f"n_train + n_test must be at most the {DIGITS_IMAGES} digit images, got {n_train} + {n_test}")
    if task not in ("classifier", "autoencoder"):
        raise InputError(f"task must be 'classifier' or 'autoencoder', got {task!r}")
    if not isinstance(standardize, (bool, np.bool_)):
        raise InputError(f"standardize must be True or False, got {standardize!r}")
    images, labels = _digit_images()
    order = np.random.default_rng([seed, 3]).permutation(DIGITS_IMAGES)
    train, test = order[:n_train], order[DIGITS_IMAGES - n_test :]
    X_train, X_test = images[train] / 16.0, images[test] / 16.0
    if standardize:
        both = np.concatenate([X_train, X_test])
        mean, std = both.mean(), both.std()
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    if task == "autoencoder":
        return Dataset("digits", X_train, X_train, X_test, X_test, "autoencoder")
    return Dataset("digits", X_train, labels[train].copy(), X_test, labels[test].copy(), "classifier")


# -- a user's arrays ------------------------------------------------------------------------------


def _matrix(data, key, path):
    a = as_float_array(data[key], f"{key} in {path}", None)
    if a.ndim != 2 or 0 in a.shape:
        raise ShapeError(f"{key} in {path} must be a non-empty 2-D array (one example per row), got shape {a.shape}")
    return check_finite(a.astype(np.float64, copy=False), f"{key} in {path}")


def load_npz(path, *, name=None):
    """A user's data set from a ``.npz`` file.

    The file holds ``X_train`` and ``X_test`` (inputs, one example per row) and, for a
    classifier, ``T_train`` and ``T_test`` (integer labels of shape ``(n,)`` or targets of shape
    ``(n, outputs)``); without targets it is an auto-encoding task (the targets are the inputs).
    Inputs are used as given: center and normalize them beforehand if the task needs it (the
    paper does for the MNIST classifier).

    Parameters
    ----------
    path : str or Path
    name : str, optional
        Name of the data set (default: the file's stem).

    Returns
    -------
    Dataset

    Raises
    ------
    InputError
        A missing or unreadable file, a directory, a ``.npy`` file (one array), missing arrays,
        non-numeric or non-finite values, negative or non-integer labels.
    ShapeError
        Arrays of the wrong dimensions or with mismatched rows or columns.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path must be a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"data file {str(path)!r} is a directory; give a .npz file")
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {str(path)!r} as a .npz file of arrays ({exc})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputError(
            f"data file {str(path)!r} holds a single array (a .npy file), not a .npz archive of X_train, "
            "X_test (and T_train, T_test): save it with numpy.savez"
        )
    try:
        with loaded as f:
            data = {k: f[k] for k in f.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {str(path)!r} as a .npz file of arrays ({exc})") from None
    where = path.name
    missing = [k for k in ("X_train", "X_test") if k not in data]
    if missing:
        raise InputError(f"{where} lacks {' and '.join(missing)} (it has {sorted(data) or 'no arrays'})")
    X_train, X_test = _matrix(data, "X_train", where), _matrix(data, "X_test", where)
    if X_train.shape[1] != X_test.shape[1]:
        raise ShapeError(f"X_train and X_test in {where} have {X_train.shape[1]} and {X_test.shape[1]} columns")
    has_t = [k in data for k in ("T_train", "T_test")]
    if any(has_t) and not all(has_t):
        raise InputError(f"{where} has only one of T_train and T_test; give both, or neither for an auto-encoder")
    stem = name or path.stem
    if not any(has_t):
        return Dataset(stem, X_train, X_train, X_test, X_test, "autoencoder")
    targets = []
    for key, X in (("T_train", X_train), ("T_test", X_test)):
        T = np.asarray(data[key])
        if T.ndim == 1:
            if not np.issubdtype(T.dtype, np.integer):
                if not (np.issubdtype(T.dtype, np.floating) and np.all(np.isfinite(T)) and np.all(T == np.round(T))):
                    raise InputError(f"{key} in {where} must hold integer class labels, got dtype {T.dtype}")
                T = T.astype(np.int64)
            if len(T) and T.min() < 0:
                raise InputError(f"{key} in {where} must hold labels >= 0, got {T.min()}")
        elif T.ndim == 2:
            T = _matrix(data, key, where)
        else:
            raise ShapeError(f"{key} in {where} must be labels (n,) or targets (n, outputs), got shape {T.shape}")
        if len(T) != len(X):
            raise ShapeError(f"{key} in {where} has {len(T)} rows for {len(X)} examples")
        targets.append(T)
    if targets[0].ndim != targets[1].ndim or (targets[0].ndim == 2 and targets[0].shape[1] != targets[1].shape[1]):
        raise ShapeError(f"T_train and T_test in {where} have different shapes per example")
    task = "classifier" if targets[0].ndim == 1 else "supervised"
    return Dataset(stem, X_train, targets[0], X_test, targets[1], task)
