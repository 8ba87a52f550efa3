"""A real HTTPS config server on 127.0.0.1 for the pull tests, with a CA made on the spot."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class PKI:
    """A test CA and a server certificate for 127.0.0.1, written to `directory`."""

    def __init__(self, directory: Path) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(_name("procguard test CA"))
              .issuer_name(_name("procguard test CA")).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(
                  digital_signature=True, key_cert_sign=True, crl_sign=True,
                  content_commitment=False, key_encipherment=False, data_encipherment=False,
                  key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1"))
                .issuer_name(ca.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.cert_file = directory / "server.pem"
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file = directory / "server.key"
        self.key_file.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.cert_sha256 = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class ConfigServer:
    """Serves `files` by path with ETags and 304s; records every request it answers."""

    def __init__(self, pki: PKI, port: int = 0) -> None:
        self.files: Dict[str, bytes] = {}
        self.requests: List[Tuple[str, Dict[str, List[str]], Optional[str], Optional[str]]] = []
        self.lock = threading.Lock()
        self.on_serve: Optional[Callable[[str], None]] = None  # called before a 200 body is sent
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                inm = self.headers.get("If-None-Match")
                with server.lock:
                    server.requests.append((parts.path, parse_qs(parts.query),
                                            self.headers.get("X-Procguard-Host"), inm))
                    body = server.files.get(parts.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if inm == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                hook = server.on_serve
                if hook is not None:  # the body is chosen; later requests see the change
                    hook(parts.path)
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.cert_file, pki.key_file)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/configs/watches.yaml") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def publish(self, config: bytes, sig: Optional[bytes],
                path: str = "/configs/watches.yaml") -> None:
        with self.lock:
            self.files[path] = config
            if sig is None:
                self.files.pop(path + ".sig", None)
            else:
                self.files[path + ".sig"] = sig

    def take_requests(self) -> List[Tuple[str, Dict[str, List[str]], Optional[str], Optional[str]]]:
        with self.lock:
            out, self.requests = self.requests, []
        return out

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
