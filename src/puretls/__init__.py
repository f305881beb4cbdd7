"""puretls: TLS 1.3 and TLS 1.2 in Python, on pyca/cryptography."""

from __future__ import annotations

__version__ = "0.1.0"

# The ssl-module-compatible API: ``import puretls as ssl`` works.
from puretls import sslcompat as _sslcompat
from puretls.sslcompat import *  # noqa: F403
from puretls.sslcompat import (
    _create_default_https_context as _create_default_https_context,
)
from puretls.sslcompat import (
    _create_unverified_context as _create_unverified_context,
)

__all__ = ["__version__", *_sslcompat.__all__]
