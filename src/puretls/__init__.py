"""puretls: TLS 1.3 and TLS 1.2 in Python, on pyca/cryptography."""

from __future__ import annotations

__version__ = "0.1.0"
