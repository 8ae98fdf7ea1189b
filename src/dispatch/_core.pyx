# cython: language_level=3
"""Private compiled core of dispatch (commitment dynamic programs). See native.py."""

def core_version():
    return 1
