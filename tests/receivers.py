"""Real endpoints on loopback for alert deliveries: a webhook receiver and an SMTP server."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.site import serve


def free_port() -> int:
    """A port nothing listens on (yet): a receiver that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tls() -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1: the services Apprise
    reaches by HTTPS only (Infobip's SMS) are sent to with `?verify=no`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile(suffix=".pem") as chain:
        chain.write(pem)
        chain.flush()
        context.load_cert_chain(chain.name)
    return context


@contextmanager
def silent_endpoint() -> Iterator[socket.socket]:
    """A listening socket that takes connections and never answers: a webhook hung."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        yield silent


@contextmanager
def unconnectable_endpoint() -> Iterator[socket.socket]:
    """A listening socket whose backlog is full, never accepting: a new connection is never
    made (Linux drops its SYNs), as to a host behind a firewall that drops them."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(server.getsockname())
        try:
            yield server
        finally:
            for filler in fillers:
                filler.close()


DRIBBLED = b"accepted"  # a dribbling endpoint's answer, sent a byte at a time


@dataclass
class Webhook:
    """An HTTP server taking JSON (or form) POSTs; `status` is what it answers (500: a broken
    endpoint). A form's fields are kept as a dict, as a JSON body is."""

    port: int = field(default_factory=free_port)
    status: int = 200
    posts: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # those of each post kept
    paths: list[str] = field(default_factory=list)  # each post's path and query
    on_post: Callable[[], None] | None = None  # run on each post before it is answered
    tls: bool = False  # HTTPS, with a self-signed certificate
    dribble: float = 0.0  # seconds between the bytes of its answer: an endpoint that dribbles
    moved_to: str = ""  # a path the others are redirected to (301): a webhook moved
    gets: list[str] = field(default_factory=list)  # the paths asked for by GET
    # The JSON body answered, from the request's headers (an endpoint quoting them in its error)
    reply: Callable[[dict[str, str]], dict[str, Any]] | None = None
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook", scheme: str = "json") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> Webhook:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.gets.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                if receiver.moved_to and self.path != receiver.moved_to:
                    self.send_response(301)
                    self.send_header("Location", receiver.moved_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                form = self.headers.get_content_type() == "application/x-www-form-urlencoded"
                payload = dict(parse_qsl(body.decode())) if form else json.loads(body or b"{}")
                if receiver.status < 300:
                    receiver.posts.append(payload)
                    receiver.headers.append(dict(self.headers.items()))
                    receiver.paths.append(self.path)
                if receiver.on_post:
                    receiver.on_post()
                answer = (
                    json.dumps(receiver.reply(dict(self.headers.items()))).encode()
                    if (receiver.reply)
                    else b""
                )
                if receiver.dribble:
                    self._dribble(receiver.dribble)
                    return
                self.send_response(receiver.status)
                if answer:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def _dribble(self, pause: float) -> None:
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(DRIBBLED)))
                self.end_headers()
                for byte in DRIBBLED:
                    time.sleep(pause)
                    try:
                        self.wfile.write(bytes([byte]))
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.tls:
            self._server.socket = _tls().wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=serve, args=(self._server,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.recipients: list[str] = []  # each message's accepted envelope recipients, in turn
        self.refused: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[arg-type]
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


class Mailbox:
    """An aiosmtpd server on loopback keeping every message it receives; it refuses the
    recipients in `refused` (550 User unknown), as a server does a mistyped address."""

    def __init__(self) -> None:
        self._inbox = _Inbox()
        self.port = free_port()
        self._controller = Controller(self._inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return self._inbox.messages

    @property
    def recipients(self) -> list[str]:
        """Whom the server took the messages for: a mail's cc and bcc addresses too."""
        return self._inbox.recipients

    @property
    def refused(self) -> set[str]:
        return self._inbox.refused

    def url(self, to: str = "b@example.invalid") -> str:
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=a@example.invalid&to={to}"

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
