"""The running handshake transcript hash (RFC 8446 4.4.1).

A client does not know the hash before ServerHello picks a suite, so the
transcript buffers message bytes until :meth:`Transcript.set_hash` is called.
A HelloRetryRequest replaces ClientHello1 with a synthetic ``message_hash``
message (RFC 8446 4.4.1), which :meth:`Transcript.rewrite_for_hello_retry_request`
performs.  Hashing uses hashlib, whose ``digest()`` finalises a copy of the
running state internally, so asking for an intermediate hash never disturbs
the transcript and needs no ``copy()`` of our own.
"""

from __future__ import annotations

import hashlib
from typing import Any

from puretls.enums import HandshakeType
from puretls.errors import InternalError


def _new_hash(hash_name: str) -> Any:
    try:
        return hashlib.new(hash_name)
    except ValueError:
        raise InternalError(f"unsupported transcript hash {hash_name!r}") from None


class Transcript:
    """Transcript-Hash over the handshake messages, headers included."""

    __slots__ = ("_buffer", "_first_type", "_hash", "_hash_name", "_kept", "_messages")

    def __init__(self, hash_name: str | None = None) -> None:
        self._hash_name: str | None = None
        self._hash: Any = None
        # Until the hash is known the raw bytes are kept (a client learns
        # the hash from ServerHello or HelloRetryRequest).
        self._buffer = bytearray()
        self._messages = 0
        self._first_type: int | None = None
        # TLS 1.2 CertificateVerify signs the messages themselves (RFC 5246
        # 7.4.8), not their hash: kept only after keep_messages().
        self._kept: bytearray | None = None
        if hash_name is not None:
            self.set_hash(hash_name)

    @property
    def hash_name(self) -> str | None:
        return self._hash_name

    @property
    def hash_known(self) -> bool:
        return self._hash_name is not None

    def set_hash(self, hash_name: str) -> None:
        """Fix the hash (once); the messages buffered so far are hashed now."""
        if self._hash_name is not None:
            raise InternalError("transcript hash already chosen")
        h = _new_hash(hash_name)
        h.update(self._buffer)
        self._buffer.clear()
        self._hash_name = hash_name
        self._hash = h

    def keep_messages(self) -> None:
        """Keep every message from now on (and those still buffered) for TLS 1.2."""
        if self._kept is None:
            if self._hash is not None and self._messages:
                raise InternalError("messages already hashed cannot be kept")
            self._kept = bytearray(self._buffer)

    def messages(self) -> bytes:
        """All handshake messages so far; only after :meth:`keep_messages`."""
        if self._kept is None:
            raise InternalError("transcript does not keep its messages")
        return bytes(self._kept)

    def update(self, message: bytes) -> None:
        """Add one complete handshake message (4-byte header included)."""
        if self._kept is not None:
            self._kept += message
        if self._messages == 0:
            self._first_type = message[0] if message else None
        if self._hash is None:
            self._buffer += message
        else:
            self._hash.update(message)
        self._messages += 1

    def _require_hash(self) -> Any:
        if self._hash is None:
            raise InternalError("transcript hash not chosen yet")
        return self._hash

    def digest(self) -> bytes:
        """Transcript-Hash of the messages so far, without consuming the state."""
        h = self._hash
        if h is None:
            raise InternalError("transcript hash not chosen yet")
        # hashlib's digest() leaves the running state as it was (it works on
        # an internal copy), so a copy() here would only copy it twice.
        digest: bytes = h.digest()
        return digest

    def digest_with(self, extra: bytes) -> bytes:
        """Hash of transcript || extra, leaving the transcript unchanged.

        Used for PSK binders over a truncated ClientHello (RFC 8446 4.2.11.2).
        """
        h = self._require_hash().copy()
        h.update(extra)
        return bytes(h.digest())

    def copy(self) -> Transcript:
        """An independent transcript with the same history.

        Post-handshake authentication hashes the main handshake plus its own
        messages, separately for each request (RFC 8446 4.4.1).
        """
        twin = Transcript()
        twin._hash_name = self._hash_name
        twin._hash = self._require_hash().copy()
        twin._messages = self._messages
        twin._first_type = self._first_type
        return twin

    def rewrite_for_hello_retry_request(self) -> None:
        """Replace ClientHello1 with message_hash (RFC 8446 4.4.1).

        Transcript-Hash(ClientHello1, HelloRetryRequest, ...) =
            Hash(message_hash ||        /* Handshake type */
                 00 00 Hash.length  ||  /* Handshake message length (bytes) */
                 Hash(ClientHello1) ||  /* Hash of ClientHello1 */
                 HelloRetryRequest  || ... || Mn)
        """
        if self._messages != 1 or self._first_type != HandshakeType.client_hello:
            raise InternalError("HelloRetryRequest rewrite needs exactly ClientHello1")
        h = self._require_hash()
        client_hello_hash = bytes(h.digest())
        fresh = _new_hash(h.name)
        header = bytes((HandshakeType.message_hash, 0, 0, len(client_hello_hash)))
        fresh.update(header + client_hello_hash)
        self._hash = fresh
        # A second HelloRetryRequest is a protocol error (RFC 8446 4.1.4).
        self._first_type = HandshakeType.message_hash

    def __repr__(self) -> str:
        return f"Transcript({self._hash_name or 'hash pending'}, {self._messages} messages)"
