"""Backend dispatch: which module computes the products of :class:`riemannopt.nn.MLP`.

A backend is a module exposing the functions of :mod:`riemannopt.nn.products` with the same
signatures: ``forward``, ``loss``, ``gradient``, ``fisher_vp``, ``connection_vp``,
``connection_terms`` and ``term3``.  :class:`~riemannopt.nn.MLP` validates its inputs, unflattens
θ and v, and hands everything else to the backend, so a new backend is one new entry in
:func:`get_backend`.
"""

from riemannopt.errors import BackendUnavailableError, MethodError

__all__ = ["BACKENDS", "get_backend"]

BACKENDS = ("numpy", "cuda")


def get_backend(name):
    """The backend module called ``name``.

    Parameters
    ----------
    name : {"numpy", "cuda"}

    Raises
    ------
    BackendUnavailableError
        For ``"cuda"``: the numba-CUDA backend is not available yet.
    MethodError
        For an unknown name.
    """
    if name == "numpy":
        from riemannopt.nn import products

        return products
    if name == "cuda":
        raise BackendUnavailableError(
            "the CUDA backend of riemannopt.nn is not available yet; use backend='numpy'"
        )
    raise MethodError(f"unknown nn backend {name!r}; expected one of {list(BACKENDS)}")
