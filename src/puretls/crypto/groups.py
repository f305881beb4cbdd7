"""Ephemeral (EC)DHE key exchange for the key_share extension.

RFC 8446 4.2.8.2 fixes the key_exchange encodings: X25519 and X448 send the
raw 32 / 56 byte public value (RFC 7748); the NIST curves send an
uncompressed point 0x04 || X || Y.  RFC 8446 7.4 fixes the shared secret:
the raw X25519 / X448 output, or the x-coordinate of the ECDH point.

Private keys come from an injected ``rng`` so that the sans-I/O core never
touches ``os.urandom`` and RFC 8448 can be replayed byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from puretls.enums import NamedGroup, enum_name
from puretls.errors import IllegalParameter, InternalError

# Default preference order for supported_groups and the client's key_share.
SUPPORTED_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.x448,
    NamedGroup.secp384r1,
    NamedGroup.secp521r1,
)

# The NIST curves (RFC 8446 4.2.7); cryptography knows each group order n.
_CURVES: dict[int, type[ec.EllipticCurve]] = {
    NamedGroup.secp256r1: ec.SECP256R1,
    NamedGroup.secp384r1: ec.SECP384R1,
    NamedGroup.secp521r1: ec.SECP521R1,
}

# Exact key_exchange lengths (RFC 8446 4.2.8.1, 4.2.8.2).
_SHARE_LENGTHS: dict[int, int] = {
    NamedGroup.x25519: 32,
    NamedGroup.x448: 56,
    NamedGroup.secp256r1: 1 + 2 * 32,
    NamedGroup.secp384r1: 1 + 2 * 48,
    NamedGroup.secp521r1: 1 + 2 * 66,
    # Finite field groups: Y padded to the length of the prime (4.2.8.1).
    NamedGroup.ffdhe2048: 256,
    NamedGroup.ffdhe3072: 384,
    NamedGroup.ffdhe4096: 512,
    NamedGroup.ffdhe6144: 768,
    NamedGroup.ffdhe8192: 1024,
}


def is_supported_group(group: int) -> bool:
    """Whether we can generate and use a key share for ``group``."""
    return group in SUPPORTED_GROUPS


def validate_key_share_length(group: int, data: bytes) -> bool:
    """Whether ``data`` has the length ``group``'s key_exchange must have.

    Groups without a fixed length that we know of are only required to be
    non-empty (``opaque key_exchange<1..2^16-1>``, RFC 8446 4.2.8).
    """
    expected = _SHARE_LENGTHS.get(group)
    if expected is None:
        return 0 < len(data) <= 0xFFFF
    return len(data) == expected


class KeyExchange:
    """One ephemeral private key for one group (RFC 8446 4.2.8)."""

    __slots__ = ("group",)

    def __init__(self, group: NamedGroup) -> None:
        self.group = group

    def public_bytes(self) -> bytes:
        """The key_exchange field of our KeyShareEntry."""
        raise NotImplementedError

    def exchange(self, peer_key_exchange: bytes) -> bytes:
        """The (EC)DHE shared secret with the peer's key_exchange (RFC 8446 7.4).

        Raises IllegalParameter for a share that is malformed or invalid.
        """
        raise NotImplementedError

    def _invalid(self, why: str) -> IllegalParameter:
        return IllegalParameter(f"invalid {self.group.name} key share: {why}")

    def _check_length(self, data: bytes) -> None:
        if not validate_key_share_length(self.group, data):
            raise self._invalid(f"{len(data)} bytes, expected {_SHARE_LENGTHS[self.group]}")

    def __repr__(self) -> str:
        # The group only: never the private key.
        return f"KeyExchange({self.group.name})"


_MontgomeryPrivate = x25519.X25519PrivateKey | x448.X448PrivateKey
_MontgomeryPublic = type[x25519.X25519PublicKey] | type[x448.X448PublicKey]

# RFC 7748: the Montgomery curves, as (private key class, public key class,
# private key length).
_MONTGOMERY: dict[int, tuple[type[_MontgomeryPrivate], _MontgomeryPublic, int]] = {
    NamedGroup.x25519: (x25519.X25519PrivateKey, x25519.X25519PublicKey, 32),
    NamedGroup.x448: (x448.X448PrivateKey, x448.X448PublicKey, 56),
}


class _MontgomeryKeyExchange(KeyExchange):
    """X25519 and X448 (RFC 8446 4.2.8.2, 7.4.2)."""

    __slots__ = ("_private", "_public_class")

    def __init__(self, group: NamedGroup, private: _MontgomeryPrivate) -> None:
        super().__init__(group)
        self._private = private
        self._public_class = _MONTGOMERY[group][1]

    def public_bytes(self) -> bytes:
        return self._private.public_key().public_bytes_raw()

    def exchange(self, peer_key_exchange: bytes) -> bytes:
        self._check_length(peer_key_exchange)
        try:
            peer = self._public_class.from_public_bytes(peer_key_exchange)
            shared = self._private.exchange(peer)  # type: ignore[arg-type]
        except ValueError:
            # OpenSSL refuses the all-zero output of a small-order point.
            raise self._invalid("low-order point") from None
        # RFC 8446 7.4.2: an all-zero X25519 / X448 result MUST be rejected.
        if not any(shared):
            raise self._invalid("low-order point")
        return shared


def _montgomery(group: int, private: bytes) -> KeyExchange:
    private_class = _MONTGOMERY[group][0]
    return _MontgomeryKeyExchange(NamedGroup(group), private_class.from_private_bytes(private))


class _ECDHKeyExchange(KeyExchange):
    __slots__ = ("_private",)

    def __init__(self, group: NamedGroup, private: ec.EllipticCurvePrivateKey) -> None:
        super().__init__(group)
        self._private = private

    def public_bytes(self) -> bytes:
        return self._private.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )

    def exchange(self, peer_key_exchange: bytes) -> bytes:
        self._check_length(peer_key_exchange)
        # RFC 8446 4.2.8.2: only the uncompressed form (legacy_form = 4).
        if peer_key_exchange[0] != 4:
            raise self._invalid("not an uncompressed point")
        try:
            # from_encoded_point checks that the point is on the curve and
            # not the point at infinity (RFC 8446 4.2.8.2 validation).
            peer = ec.EllipticCurvePublicKey.from_encoded_point(
                self._private.curve, peer_key_exchange
            )
            # RFC 8446 7.4.2: the shared secret is the x-coordinate,
            # left-padded to the field size; exchange() returns exactly that.
            return self._private.exchange(ec.ECDH(), peer)
        except ValueError:
            raise self._invalid("point not on the curve") from None


def _unsupported(group: int) -> InternalError:
    # The handshake only asks for groups in SUPPORTED_GROUPS: anything else is our bug.
    return InternalError(f"key exchange group {enum_name(NamedGroup, group)} is not supported")


def _ec_private_from_rng(group: int, rng: Callable[[int], bytes]) -> ec.EllipticCurvePrivateKey:
    curve = _CURVES[group]()
    order = curve.group_order
    # A scalar in [1, n-1]; 8 extra random bytes make the modular bias
    # negligible (FIPS 186-5 A.2.1, "extra random bits").
    random = rng((order.bit_length() + 7) // 8 + 8)
    scalar = int.from_bytes(random, "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, curve)


def generate_key_exchange(group: int, rng: Callable[[int], bytes]) -> KeyExchange:
    """A fresh key pair for ``group``, its private key drawn from ``rng``."""
    if group in _MONTGOMERY:
        return _montgomery(group, rng(_MONTGOMERY[group][2]))
    if group in _CURVES:
        return _ECDHKeyExchange(NamedGroup(group), _ec_private_from_rng(group, rng))
    raise _unsupported(group)


def key_exchange_from_private_bytes(group: int, private: bytes) -> KeyExchange:
    """A KeyExchange from a known private key (test vectors, RFC 8448).

    ``private`` is the raw RFC 7748 scalar for X25519 / X448, and the
    big-endian private scalar for the NIST curves.
    """
    try:
        if group in _MONTGOMERY:
            return _montgomery(group, private)
        if group in _CURVES:
            key = ec.derive_private_key(int.from_bytes(private, "big"), _CURVES[group]())
            return _ECDHKeyExchange(NamedGroup(group), key)
    except ValueError as exc:
        raise InternalError(f"bad {enum_name(NamedGroup, group)} private key: {exc}") from None
    raise _unsupported(group)
