"""One login against the brokers, to tell "wrong credentials" from "no broker".

Kafka clients retry a refused SASL login until their own deadline: kafka-python then reports
only "Unable to bootstrap", and Spark's Kafka source fails its query after minutes of
restarts. :func:`refusal` logs in once, synchronously (TLS when the settings ask for it, then
SaslHandshake v1 and SaslAuthenticate v1 with PLAIN or SCRAM), and returns the broker's own
reason when it refuses. The password never leaves this module except inside the exchange.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import socket
import ssl
import struct

from otellake import kafka_security
from otellake.settings import Settings

_SASL_HANDSHAKE, _SASL_AUTHENTICATE = 17, 36
_CLIENT_ID = b"otellake-login-check"


class _Refused(Exception):
    """The broker answered, and said no."""


def refusal(settings: Settings, timeout_s: float = 10.0) -> str | None:
    """None when a broker accepts the settings' login (or security is off); the broker's
    reason when the first one that answers refuses it. OSError when none answers."""
    errors: list[str] = []
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        except OSError as exc:
            errors.append(f"{server.strip()}: {exc}")
            continue
        try:
            sock.settimeout(timeout_s)
            if kafka_security.uses_tls(settings):
                sock = _tls(settings, sock, host)
            if kafka_security.uses_sasl(settings):
                _sasl_login(settings, sock)
            return None
        except ssl.SSLError as exc:
            return f"TLS handshake failed: {exc}"
        except _Refused as exc:
            return str(exc)
        finally:
            sock.close()
    raise OSError(f"no broker answered at {settings.kafka_bootstrap}: {'; '.join(errors)}")


def _tls(settings: Settings, sock: socket.socket, host: str) -> socket.socket:
    cafile = str(settings.kafka_ca_file) if settings.kafka_ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    return context.wrap_socket(sock, server_hostname=host)


def _sasl_login(settings: Settings, sock: socket.socket) -> None:
    mechanism, user = settings.kafka_sasl_mechanism, settings.kafka_username
    assert mechanism and user and settings.kafka_password is not None
    password = settings.kafka_password.get_secret_value()
    conversation = _Conversation(sock)
    body = conversation.call(_SASL_HANDSHAKE, _string(mechanism))
    error, offered = struct.unpack_from(">h", body)[0], _strings(body, 2)
    if error or mechanism not in offered:
        raise _Refused(f"the broker offers SASL mechanisms {offered}, not {mechanism}")
    if mechanism == "PLAIN":
        conversation.authenticate(b"\0" + user.encode() + b"\0" + password.encode())
        return
    digest = "sha256" if mechanism == "SCRAM-SHA-256" else "sha512"
    _scram(conversation, digest, user, password)


def _scram(conversation: _Conversation, digest: str, user: str, password: str) -> None:
    """RFC 5802 client side: client-first, server-first, client-final (with the proof)."""
    name = user.replace("=", "=3D").replace(",", "=2C")
    nonce = base64.b64encode(secrets.token_bytes(18)).decode()
    client_first_bare = f"n={name},r={nonce}"
    server_first = conversation.authenticate(f"n,,{client_first_bare}".encode()).decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    if not fields.get("r", "").startswith(nonce):
        raise _Refused("the broker's SCRAM nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac(
        digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.digest(salted, b"Client Key", digest)
    stored_key = hashlib.new(digest, client_key).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(stored_key, auth_message, digest)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    conversation.authenticate(f"{without_proof},p={base64.b64encode(proof).decode()}".encode())


class _Conversation:
    """Kafka request/response framing over a blocking socket (header v1, non-flexible)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.correlation_id = 0

    def call(self, api_key: int, body: bytes, version: int = 1) -> bytes:
        self.correlation_id += 1
        header = struct.pack(">hhih", api_key, version, self.correlation_id, len(_CLIENT_ID))
        request = header + _CLIENT_ID + body
        self.sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", self._read(4))
        response = self._read(size)
        (correlation_id,) = struct.unpack_from(">i", response)
        if correlation_id != self.correlation_id:
            raise _Refused(f"unexpected response {correlation_id} to request {self.correlation_id}")
        return response[4:]

    def authenticate(self, token: bytes) -> bytes:
        """One SaslAuthenticate v1 round: the server's bytes, or _Refused with its message."""
        body = self.call(_SASL_AUTHENTICATE, struct.pack(">i", len(token)) + token)
        (error,) = struct.unpack_from(">h", body)
        (message_len,) = struct.unpack_from(">h", body, 2)
        offset = 4 + max(message_len, 0)
        message = body[4:offset].decode(errors="replace") if message_len >= 0 else ""
        if error:
            raise _Refused(message or f"SaslAuthenticate error code {error}")
        (size,) = struct.unpack_from(">i", body, offset)
        return body[offset + 4 : offset + 4 + max(size, 0)]

    def _read(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = self.sock.recv(n - len(chunks))
            if not chunk:
                raise _Refused("the broker closed the connection during the SASL login")
            chunks += chunk
        return bytes(chunks)


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def _strings(body: bytes, offset: int) -> list[str]:
    (count,) = struct.unpack_from(">i", body, offset)
    offset += 4
    values = []
    for _ in range(max(count, 0)):
        (length,) = struct.unpack_from(">h", body, offset)
        values.append(body[offset + 2 : offset + 2 + length].decode())
        offset += 2 + length
    return values
