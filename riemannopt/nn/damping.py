"""Levenberg–Marquardt adjustment of the damping λ (Martens 2010, "Damping"; Martens, *New
perspectives*, §9).

The damped curvature ``A = F + λI`` defines the quadratic model
``q(u) = ∇fᵀu + ½ uᵀ F u`` of the objective around θ; after an update ``u`` the reduction ratio

    ``ρ = (f(θ + u) − f(θ)) / q(u)``

measures how well the model predicted the change (``F`` undamped: λ is a trust-region device,
not part of the model).  When the model is trusted (ρ > ¾) λ shrinks by ⅔ and the next step
is bolder; when it is not (ρ < ¼) λ grows by 3/2.  The thresholds of paper Appendix D switch the
corrections of ``mid``, ``geo`` and ``geof`` off while λ is large: a heavily damped step is
close to a gradient step, for which the geometry they correct for is meaningless.
"""

import math

__all__ = ["reduction_ratio", "levenberg_marquardt", "BOOST", "DROP"]

#: Factor applied to λ when ρ < ¼ (Martens 2010).
BOOST = 1.5
#: Factor applied to λ when ρ > ¾ (Martens 2010).
DROP = 2.0 / 3.0


def reduction_ratio(actual, predicted):
    """ρ = actual / predicted change of the objective.

    Parameters
    ----------
    actual : float
        ``f(θ + u) − f(θ)``.
    predicted : float
        ``q(u) − q(0)`` of the quadratic model.

    Returns
    -------
    float
        ``−inf`` when the objective rose or is not finite (as in Martens' code: such a step
        always boosts λ); ``+inf`` when it fell although the model predicted no decrease.
    """
    if not math.isfinite(actual) or actual > 0:
        return -math.inf
    if not predicted < 0:
        return math.inf if actual < 0 else 1.0
    return actual / predicted


def levenberg_marquardt(damping, rho, *, boost=BOOST, drop=DROP, low=0.25, high=0.75):
    """The next λ: ``λ·boost`` if ρ < ``low`` (or ρ is NaN), ``λ·drop`` if ρ > ``high``, else
    ``λ``."""
    if not rho >= low:
        return damping * boost
    if rho > high:
        return damping * drop
    return damping
