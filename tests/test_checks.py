"""``riemannopt._checks.check_number``, the one validator of numeric arguments (issue 21, item
9): what it accepts comes back as a Python int or float equal to the input; what it refuses is the
requested exception naming the argument, the rule and the value.  The reference for each row is
the rule stated in the row itself (kind, NaN, finiteness, bounds, integer-ness)."""

import math

import numpy as np
import pytest

from riemannopt._checks import as_count, check_number
from riemannopt.errors import InputError, MethodError

ACCEPTED = [
    (3, {}, 3.0, float),
    (np.float32(0.5), {}, 0.5, float),
    (np.int64(7), dict(integer=True), 7, int),
    (0, dict(integer=True, low=0), 0, int),
    (math.inf, dict(allow_inf=True, low=0), math.inf, float),
    (1e-300, dict(low=0, strict=True), 1e-300, float),
    (1.0, dict(low=0, high=1), 1.0, float),
    (0.999, dict(high=1, strict_high=True), 0.999, float),
    (np.array(3), dict(integer=True), 3, int),
    (np.array(0.25), {}, 0.25, float),
    (10**400, dict(integer=True, low=1), 10**400, int),
    (10**400, dict(allow_inf=True), math.inf, float),
]


@pytest.mark.parametrize("value, rule, expected, kind", ACCEPTED, ids=[repr(a[0]) + str(a[1]) for a in ACCEPTED])
def test_accepted_values_come_back_as_python_numbers(value, rule, expected, kind):
    got = check_number(value, "x", **rule)
    assert got == expected and type(got) is kind


REFUSED = [
    ("a", {}, "x must be a finite number, got 'a'"),
    (None, {}, "x must be a finite number, got None"),
    (True, {}, "x must be a finite number, got True"),
    (np.bool_(False), dict(integer=True), "x must be an integer, got np.False_"),
    (math.nan, dict(allow_inf=True), "x must be a number, got nan"),
    (math.inf, {}, "x must be a finite number, got inf"),
    (1.5, dict(integer=True), "x must be an integer, got 1.5"),
    (2.0, dict(integer=True), "x must be an integer, got 2.0"),
    (-1, dict(integer=True, low=0), "x must be an integer >= 0, got -1"),
    (0.0, dict(low=0, strict=True), "x must be a finite number > 0, got 0.0"),
    (1.5, dict(low=0, high=1), "x must be a finite number >= 0 and <= 1, got 1.5"),
    (1.0, dict(low=0, high=1, strict_high=True), "x must be a finite number >= 0 and < 1, got 1.0"),
    ([1], {}, "x must be a finite number, got [1]"),
    (10**400, {}, "x must be a finite number, got " + repr(10**400)[:57] + "..."),
    (2**32, dict(integer=True, high=2**32 - 1), "x must be an integer <= 4294967295, got 4294967296"),
]


@pytest.mark.parametrize("value, rule, message", REFUSED, ids=[m for _, _, m in REFUSED])
def test_refused_values_name_the_argument_rule_and_value(value, rule, message):
    with pytest.raises(InputError) as info:
        check_number(value, "x", **rule)
    assert str(info.value) == message


def test_the_exception_class_is_the_callers():
    """``as_count`` (an integer >= 1) raises what its caller asks for."""
    with pytest.raises(MethodError, match=r"^steps must be an integer >= 1, got 0$"):
        as_count(0, "steps", MethodError)
    assert as_count(np.int32(4), "steps") == 4
