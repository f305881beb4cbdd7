"""Fuzz target: every handshake message decoder, the extensions inside, alerts.

The input is one handshake message with its 4-byte header, so the type byte
picks the decoder (ClientHello, ServerHello/HelloRetryRequest,
EncryptedExtensions, Certificate, CertificateRequest, CertificateVerify,
Finished, NewSessionTicket, EndOfEarlyData, KeyUpdate, ...), then the
TLS 1.2 decoders on the same bytes.  Whatever
decodes must encode back to the same bytes.

    python fuzz/fuzz_messages.py .fuzz/corpus/messages -max_total_time=60
"""

from __future__ import annotations

import contextlib
import sys

try:
    import atheris
except ImportError:  # the test suite replays the seeds without atheris
    atheris = None

with atheris.instrument_imports(include=["puretls"]) if atheris else contextlib.nullcontext():
    from puretls.errors import TLSError
    from puretls.messages import Alert, decode_handshake12, decode_handshake_message


def test_one_input(data: bytes) -> None:
    try:
        message = decode_handshake_message(data)
    except TLSError:
        pass
    else:
        encoded = message.encode()
        # Round trip: a decoded message re-encodes to what was read (the
        # transcript depends on it) unless the decoder normalised it.
        if encoded != data:
            message2 = decode_handshake_message(encoded)
            if message2 != message:
                raise AssertionError(f"round trip changed {type(message).__name__}")
    with contextlib.suppress(TLSError):
        Alert.decode(data[:2])
    if len(data) >= 4:
        # The TLS 1.2 decoders (ServerKeyExchange, ClientKeyExchange, ...).
        with contextlib.suppress(TLSError):
            decode_handshake12(data[0], data[4:])


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
