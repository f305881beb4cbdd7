"""When to update traffic keys, and how many peer KeyUpdates to put up with.

RFC 8446 5.5 (and RFC 9846, which makes it a MUST) bounds how much data one
key may protect: for AES-GCM 2^24.5 full-size records keep the attacker's
advantage below 2^-57; AES-CCM (RFC 9147 4.5.3) 2^23.5; ChaCha20-Poly1305's
limit lies beyond the 64-bit sequence number.  We update our write key a
little before those limits, or sooner when the configuration asks for every
N records or bytes.  RFC 9846 4.7.3 caps the number of updates one side may
send at 2^48-1.  A peer that sends KeyUpdate after KeyUpdate with no data in
between makes us derive keys for nothing: past ``max_peer_key_updates`` in a
row the connection fails with unexpected_message.
"""

from __future__ import annotations

from puretls.config import TLSConfig
from puretls.crypto.suites import CipherSuiteInfo
from puretls.errors import InternalError, UnexpectedMessage

# Records per key, a safety margin below each AEAD's confidentiality limit.
_GCM_RECORDS = 1 << 24  # limit 2^24.5 (RFC 8446 5.5)
_CCM_RECORDS = 1 << 23  # limit 2^23.5 (RFC 9147 4.5.3)
_CHACHA_RECORDS = 1 << 62  # no practical limit before the sequence number
MAX_OWN_UPDATES = (1 << 48) - 1  # RFC 9846 4.7.3


def record_limit(suite: CipherSuiteInfo) -> int:
    """Records one key may protect before we update it."""
    name = suite.aead.__name__
    if name == "AESGCM":
        return _GCM_RECORDS
    if name.startswith("AESCCM"):
        return _CCM_RECORDS
    return _CHACHA_RECORDS


class KeyUpdatePolicy:
    """Per-connection counters for the write key and for peer KeyUpdates."""

    __slots__ = (
        "_config",
        "_limit",
        "_limit_suite",
        "bytes",
        "own_updates",
        "peer_in_a_row",
        "records",
    )

    def __init__(self, config: TLSConfig) -> None:
        self._config = config
        self.records = 0
        self.bytes = 0
        self.own_updates = 0
        self.peer_in_a_row = 0
        self._limit = 0
        self._limit_suite: CipherSuiteInfo | None = None

    def new_write_key(self) -> None:
        self.records = 0
        self.bytes = 0

    def due(self, suite: CipherSuiteInfo, length: int) -> bool:
        """Whether our write key must move on before one more record of ``length``."""
        config = self._config
        limit = config.key_update_records or record_limit(suite)
        if self.records + 1 > limit:
            return True
        max_bytes = config.key_update_bytes
        return max_bytes is not None and self.records > 0 and self.bytes + length > max_bytes

    def headroom(self, suite: CipherSuiteInfo) -> int:
        """Records that may still be sent under this key, none of them making
        :meth:`due` true (0 when a byte limit is configured: check each)."""
        if self._config.key_update_bytes is not None:
            return 0
        if suite is not self._limit_suite:
            # Asked before every write: work the limit out once per suite.
            self._limit = self._config.key_update_records or record_limit(suite)
            self._limit_suite = suite
        return self._limit - self.records

    def sent(self, length: int) -> None:
        self.records += 1
        self.bytes += length

    def sent_many(self, records: int, length: int) -> None:
        self.records += records
        self.bytes += length

    def before_own_update(self) -> None:
        if self.own_updates >= MAX_OWN_UPDATES:
            raise InternalError("no KeyUpdate left (RFC 9846 4.7.3): the connection must close")
        self.own_updates += 1

    def peer_update(self) -> None:
        self.peer_in_a_row += 1
        limit = self._config.max_peer_key_updates
        if self.peer_in_a_row > limit:
            raise UnexpectedMessage(
                f"peer sent more than {limit} KeyUpdates in a row without application data"
            )

    def peer_data(self) -> None:
        self.peer_in_a_row = 0
