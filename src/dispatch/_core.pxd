# Declarations of the private Cython core (see _core.pyx).
