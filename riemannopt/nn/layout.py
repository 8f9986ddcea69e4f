"""Where each layer's weights and biases sit in the flat parameter vector θ.

θ holds, layer after layer, ``W_i`` (shape ``(n_out, n_in)``, row-major) then ``b_i``.  This is
the only place that knows it: :class:`~riemannopt.nn.MLP` and every backend take their layer
views from :meth:`Layout.views`.
"""

from riemannopt._checks import check_number
from riemannopt.errors import ShapeError

__all__ = ["Layout"]


class Layout:
    """The flat-θ layout of a fully connected network.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_0, n_1, ..., n_l]`` (a ShapeError names the first that is not an
        integer >= 1).

    Attributes
    ----------
    shapes : list of tuple
        ``[((n_out, n_in), (n_out,)), ...]``, the shapes of ``(W_i, b_i)``.
    offsets : list of int
        Start of ``W_i`` in θ (``b_i`` follows it).
    n_params : int
        Length of θ.
    """

    def __init__(self, sizes):
        self.sizes = tuple(
            check_number(n, f"sizes[{i}]", integer=True, low=1, cls=ShapeError) for i, n in enumerate(sizes)
        )
        self.shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        self.offsets = []
        k = 0
        for (n_out, n_in), _ in self.shapes:
            self.offsets.append(k)
            k += n_out * n_in + n_out
        self.n_params = k

    def __len__(self):
        return len(self.shapes)

    def views(self, flat):
        """``[(W_1, b_1), ..., (W_l, b_l)]`` as views into ``flat`` (no copy).

        ``flat`` may be any one-dimensional contiguous array that slices and reshapes into views:
        a numpy array, a numba-CUDA device array, a CuPy array.
        """
        out = []
        for k, ((n_out, n_in), _) in zip(self.offsets, self.shapes):
            size = n_out * n_in
            out.append((flat[k : k + size].reshape((n_out, n_in)), flat[k + size : k + size + n_out]))
        return out
