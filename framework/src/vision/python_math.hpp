#pragma once
// Python float semantics that HF's size and token rules depend on: a // b on
// floats and round(x, ndigits). Using C's floor/round instead moves some
// image sizes to a different token count.
namespace mechlens::vision {

// CPython's float floor division (Objects/floatobject.c, float_floor_div).
double python_floordiv(double a, double b);

// round(x, ndigits) for a float: the double nearest to x's exact value
// rounded to ndigits decimals, ties to even (CPython's double_round, which
// goes through a correctly rounded decimal string).
double python_round(double x, int ndigits);

}  // namespace mechlens::vision
