"""Where a webhook may go (SSRF): the address checks, whatever way an address is written or
resolved, and one attempt's HTTP: pinned to the checked address, TLS checked against the name,
no redirect followed, a hard total timeout, at most 64 KB read."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.errors import DestinationRefused, InvalidWebhook
from core.webhooks.destinations import Destination, Destinations
from workers.webhooks.sending import post

STRICT = Destinations(allow_http=False, allowed_networks=[])
OPEN_HTTP = Destinations(allow_http=True, allowed_networks=[])


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.1", "private"), ("169.254.1.1", "link-local"), ("169.254.169.254", "metadata"),
    ("100.64.0.1", "not a globally routable"), ("100.100.100.200", "metadata"),
    ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("240.0.0.1", "reserved"),
    ("::1", "loopback"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("fd00:ec2::254", "metadata"), ("ff02::1", "multicast"), ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"), ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
    ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_only_globally_routable_addresses_pass(address: str, reason: str | None) -> None:
    found = STRICT.refusal(ipaddress.ip_address(address))
    assert (found is None) if reason is None else (reason in (found or ""))


def test_an_operator_may_allow_networks_but_never_the_metadata_service() -> None:
    allowing = Destinations(True, ["127.0.0.0/8", "169.254.0.0/16"])
    assert allowing.refusal(ipaddress.ip_address("127.0.0.5")) is None
    assert allowing.refusal(ipaddress.ip_address("169.254.3.4")) is None
    assert "metadata" in (allowing.refusal(ipaddress.ip_address("169.254.169.254")) or "")
    assert "loopback" in (allowing.refusal(ipaddress.ip_address("::1")) or "")


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://127.1/",
                                 "http://localhost/", "http://LOCALHOST:8000/x"])
def test_loopback_spelled_any_way_is_refused(url: str) -> None:
    with pytest.raises(DestinationRefused, match="loopback"):
        OPEN_HTTP.check(url)


def test_https_is_required_unless_plain_http_is_allowed() -> None:
    public = Destinations(False, [], resolver=lambda host, port: ["93.184.215.14"])
    with pytest.raises(DestinationRefused, match="must be https"):
        public.check("http://hooks.example.com/x")
    found = public.check("https://hooks.example.com:8443/x?y=1")
    assert (found.host, found.port, found.target, found.address) == (
        "hooks.example.com", 8443, "/x?y=1", "93.184.215.14")


def test_one_bad_address_among_several_refuses_the_name() -> None:
    mixed = Destinations(False, [], resolver=lambda host, port: ["93.184.215.14", "10.0.0.1"])
    with pytest.raises(DestinationRefused, match=r"10\.0\.0\.1"):
        mixed.check("https://hooks.example.com/")


def test_a_name_that_resolves_elsewhere_at_delivery_is_refused_then() -> None:
    """DNS rebinding: public when the endpoint was made, private when a delivery looks."""
    answers = iter([["93.184.215.14"], ["169.254.169.254"]])
    rebinding = Destinations(False, [], resolver=lambda host, port: next(answers))
    assert rebinding.check("https://rebind.example.com/").address == "93.184.215.14"
    with pytest.raises(DestinationRefused, match="metadata"):
        rebinding.check("https://rebind.example.com/")


@pytest.mark.parametrize("url", ["https://user:pw@hooks.example.com/", "https://exa mple.com/",
                                 "https://hooks.example.com/\r\nX-Evil: 1", "https://[::1/"])
def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(InvalidWebhook):
        STRICT.check(url)


# -- one attempt's HTTP -----------------------------------------------------------------------
class Answers(BaseHTTPRequestHandler):
    """A receiver that does what its path says, and remembers each request's Host header."""

    seen: list[str] = []

    def do_POST(self) -> None:
        self.seen.append(self.headers["Host"])
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/drip":  # a status line a byte at a time, never done
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(100 * 2**20))
            self.end_headers()
            self.wfile.write(b"x" * 2**20)
            time.sleep(5)  # the rest never comes; 64 KB were all that was read
        else:
            self.send_response(204)
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    found = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    found.daemon_threads = True
    threading.Thread(target=found.serve_forever, daemon=True).start()
    Answers.seen = []
    yield found
    found.shutdown()


def at(server: ThreadingHTTPServer, path: str, host: str = "hooks.example.com",
       scheme: str = "http") -> Destination:
    """A destination named `host` whose checked address is the local server's."""
    port = server.server_address[1]
    return Destination(f"{scheme}://{host}:{port}{path}", scheme, host, port, path, "127.0.0.1")


def test_the_connection_goes_to_the_checked_address_with_the_names_host(server) -> None:
    answer = post(at(server, "/ok", host="never-resolved.example"), {}, b"{}", 2)
    assert answer.ok and answer.status == 204
    assert Answers.seen == [f"never-resolved.example:{server.server_address[1]}"]


def test_a_redirect_is_not_followed(server: ThreadingHTTPServer) -> None:
    answer = post(at(server, "/redirect"), {}, b"{}", 2)
    assert (answer.ok, answer.status) == (False, 302) and "not followed" in (answer.error or "")
    assert len(Answers.seen) == 1


def test_a_receiver_that_drips_is_cut_at_the_total_timeout(server: ThreadingHTTPServer) -> None:
    answer = post(at(server, "/drip"), {}, b"{}", 1)
    assert answer.status is None and "within 1 s" in (answer.error or "")
    assert answer.seconds < 1.5


def test_at_most_64_kb_of_an_answer_is_read(server: ThreadingHTTPServer) -> None:
    answer = post(at(server, "/huge"), {}, b"{}", 3)
    assert answer.ok and answer.seconds < 1


def test_tls_is_checked_against_the_name_not_the_pinned_address(tmp_path: Path) -> None:
    certificate, key = self_signed(tmp_path, "hooks.example.com")
    found = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate, key)
    found.socket = tls.wrap_socket(found.socket, server_side=True)
    threading.Thread(target=found.serve_forever, daemon=True).start()
    trusting = ssl.create_default_context(cafile=str(certificate))
    try:
        assert post(at(found, "/ok", scheme="https"), {}, b"{}", 2, trusting).ok
        wrong = post(at(found, "/ok", host="other.example.com", scheme="https"), {}, b"{}", 2,
                     trusting)
        assert not wrong.ok and "TLS" in (wrong.error or "")
    finally:
        found.shutdown()


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                   .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file
