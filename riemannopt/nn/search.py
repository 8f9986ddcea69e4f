"""The two searches of a Hessian-free iteration, on the true objective (Martens 2010).

* :func:`backtrack` picks among the saved CG iterates (Martens 2010, "CG iteration
  backtracking"): CG minimizes a quadratic model built on one curvature minibatch, so its last
  iterate is not always the best step for the objective on all the data.
* :func:`armijo` shrinks the rate of the chosen update until it decreases the objective enough
  (Martens' code: sufficient-decrease constant ``10⁻²``, rate ×0.8, at most 60 tries, else no
  step).

Both are pure: they see the objective only through a function returning a number (and
whatever the caller wants back with it), so they do not know about networks or backends.
"""

import math

__all__ = ["backtrack", "armijo", "SearchResult"]


class SearchResult:
    """What a search chose.

    Attributes
    ----------
    index : int
        :func:`backtrack`: position of the chosen candidate; :func:`armijo`: number of rates
        tried.
    rate : float
        :func:`armijo`: the accepted rate (0 when none was accepted); :func:`backtrack`: 1.
    value : float
        The objective at the chosen point (``f0`` for a rejected Armijo search).
    payload : object
        What ``evaluate`` returned with that value (``None`` for a rejected Armijo search).
    evaluations : int
        Calls of ``evaluate``.
    """

    __slots__ = ("index", "rate", "value", "payload", "evaluations")

    def __init__(self, index, rate, value, payload, evaluations):
        self.index = index
        self.rate = rate
        self.value = value
        self.payload = payload
        self.evaluations = evaluations

    def __repr__(self):
        return f"SearchResult(index={self.index}, rate={self.rate}, value={self.value}, evaluations={self.evaluations})"


def _value(v):
    # A NaN or an infinity is worse than any finite value, so a search never settles on it.
    return v if math.isfinite(v) else math.inf


def backtrack(candidates, evaluate):
    """Martens' CG-iterate backtracking: from the last candidate, step back while the previous
    one is at least as good.

    Parameters
    ----------
    candidates : sequence
        The saved iterates in the order CG produced them (at least one).
    evaluate : callable
        ``candidate ↦ (value, payload)``: the objective at ``θ + candidate`` and anything to keep
        with it (e.g. the forward pass, reused by the next iteration).

    Returns
    -------
    SearchResult
        ``index`` of the chosen candidate.  The scan stops at the first candidate that is
        strictly better than its predecessor, so on a sequence of values that falls and then
        rises it returns the minimum.
    """
    if not candidates:
        raise ValueError("backtrack needs at least one candidate")
    i = len(candidates) - 1
    value, payload = evaluate(candidates[i])
    n = 1
    while i > 0:
        earlier, earlier_payload = evaluate(candidates[i - 1])
        n += 1
        if _value(value) < _value(earlier):
            break
        i, value, payload = i - 1, earlier, earlier_payload
    return SearchResult(i, 1.0, value, payload, n)


def armijo(evaluate, f0, slope, *, c=1e-2, shrink=0.8, max_tries=60, first=None, start=1.0):
    """Backtracking line search on the rate ``r`` of an update path ``u(r)``.

    Accepts the first ``r`` in ``start, start·shrink, start·shrink², ...`` (``start = 1``, the
    paper's rate, unless a caller continues from another search) with
    ``φ(r) ≤ f0 + c · r · min(slope, 0)``, where ``φ(r)`` is the objective at ``θ + u(r)`` and
    ``slope = φ'(0)``.  For a straight update ``u(r) = r·p`` this is Armijo's condition with
    ``slope = ∇fᵀp`` (Martens' code); for a curved one (``geo``: ``r·d − ½r²·c``) ``φ'(0)`` is
    still ``∇fᵀd``.  ``min(slope, 0)``: if the update is not a descent direction (a warm-started
    CG iterate can fail to be one), require at least no increase.

    Parameters
    ----------
    evaluate : callable
        ``r ↦ (φ(r), payload)``.
    f0 : float
        ``φ(0)``, the objective at θ.
    slope : float
        ``φ'(0)``.
    c, shrink, max_tries : float, float, int
        Sufficient-decrease constant, factor by which ``r`` shrinks, and number of rates tried.
    first : tuple, optional
        ``(φ(start), payload)`` when it is already known (it is skipped from ``evaluate``).
    start : float
        The first rate tried.

    Returns
    -------
    SearchResult
        ``rate`` the accepted rate, or ``0`` with ``value = f0`` and ``payload = None`` if
        none of ``max_tries`` rates was accepted; ``index`` the number of rates tried.
    """
    slope = min(slope, 0.0)
    r = float(start)
    n = 0
    for k in range(max_tries):
        if k == 0 and first is not None:
            value, payload = first
        else:
            value, payload = evaluate(r)
            n += 1
        if _value(value) <= f0 + c * r * slope:
            return SearchResult(k + 1, r, value, payload, n)
        r *= shrink
    return SearchResult(max_tries, 0.0, f0, None, n)
