"""A local HTTPS server for Client ID Metadata Documents, and the TEST-ONLY fetcher that may reach it.

DOT's fetcher (and ours, which extends it) refuses loopback and private addresses and trusts only public CAs:
that is the SSRF guard. The tests serve documents from 127.0.0.1 with a throwaway CA, so they swap in
LoopbackDocumentFetcher through the CIMD_METADATA_FETCHER setting, only inside the `document_server` fixture.
Everything after the fetch (client_id match, our redirect URI policy, DOT's validation and upsert) is the real code.
"""

import datetime
import ipaddress
import json
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from oauth2_provider.cimd import CIMDError

from oauth_app.cimd import document_policy_check

CA_FILE: str | None = None  # set by DocumentServer; read by LoopbackDocumentFetcher (or CIMD_TEST_CA_FILE, below)


class LoopbackDocumentFetcher:
    """TEST ONLY: fetch from the loopback document server, trusting its throwaway certificate."""

    def fetch(self, client_id):
        try:
            # In an AS served as its own process (tests/e2e/cimd_settings.py), the CA file comes from its environment.
            cafile = CA_FILE or os.environ["CIMD_TEST_CA_FILE"]
            response = httpx.get(client_id, verify=ssl.create_default_context(cafile=cafile), timeout=5)
        except httpx.HTTPError as exc:
            raise CIMDError(f"could not fetch client_id document: {exc}") from exc
        if response.status_code != 200:
            raise CIMDError(f"client_id document returned HTTP {response.status_code}")
        try:
            metadata = response.json()
        except ValueError as exc:
            raise CIMDError("client_id document is not valid JSON") from exc
        document_policy_check(metadata)
        return metadata, 300


def _self_signed(directory) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


class DocumentServer:
    def __init__(self, directory):
        self.documents: dict[str, tuple[int, bytes]] = {}
        documents = self.documents

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                status, body = documents.get(self.path, (404, b"{}"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        global CA_FILE
        cert_file, key_file = _self_signed(directory)
        CA_FILE = cert_file
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}{path}"

    def publish(self, path: str, document: dict | None = None, *, status: int = 200, **fields) -> str:
        """Serve `document` (by default a valid one whose client_id is its own URL) at `path`; return the URL."""
        url = self.url(path)
        body = (
            {"client_id": url, "client_name": "Doc Client", "redirect_uris": [], **fields}
            if document is None
            else document
        )
        self.documents[path] = (status, json.dumps(body).encode())
        return url

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
