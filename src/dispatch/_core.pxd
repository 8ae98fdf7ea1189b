# Declarations of the private Cython core (see _core.pyx).
# Typed kernels are ``noexcept nogil``; the only Python entry points are the ``def``
# wrappers in _core.pyx.

cdef double commit_unit_dp(
    const double[:, ::1] on_cost,
    const double[:, ::1] off_cost,
    const signed char[:, ::1] force,
    Py_ssize_t g,
    const long[:, ::1] su_lag,
    const double[:, ::1] su_cost,
    long min_up,
    long min_down,
    bint init_on,
    long init_hours,
    double[:, ::1] value,
    int[:, ::1] back,
    signed char[:, ::1] out_on,
) noexcept nogil
