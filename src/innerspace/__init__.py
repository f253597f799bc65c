"""innerspace: run containerised Python applications next to astronomy data, through IVOA UWS.

This top-level module stays import-free so that `innerspace.runtime`, which is copied into
application images, can be imported inside a container without any of the service's
dependencies.
"""

__version__ = "0.1.0"
