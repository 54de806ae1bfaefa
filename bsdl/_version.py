"""The version of bsdl, in one place (read by ``setup.cfg`` and by ``bsdl.__version__``)."""

__version__ = "0.1.0"
