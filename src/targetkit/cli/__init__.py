"""The ``targetkit`` command line."""
