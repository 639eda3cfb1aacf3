"""A real SMTP server for the notification tests (tests/tests/notifications.rs).

Usage: python3 smtp_sink.py DIR PASSWORD [starttls|implicit CERT KEY]
Listens on 127.0.0.1 at a free port, prints `PORT <n>` once ready, and writes every mail it
accepts to DIR as NNNN.eml (the raw message as received) and then NNNN.json (recipients,
subject, decoded body and sizes). AUTH PLAIN/LOGIN is offered without TLS (a test on
loopback) and accepts only the user `mailer` with PASSWORD. With `starttls` it requires
STARTTLS before anything else; with `implicit` it speaks TLS from the first byte; both with the
certificate and key in CERT and KEY (PEM). Runs until killed.
"""

import asyncio
import email
import email.policy
import itertools
import ssl
import json
import os
import socket
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.count)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_content() if not msg.is_multipart() else ""
        _, _, encoded = raw.partition(b"\r\n\r\n")
        record = {
            "to": envelope.rcpt_tos,
            "from": envelope.mail_from,
            "subject": str(msg["subject"]),
            "body": body,
            "size": len(raw),
            "encoded_body_size": len(encoded),
        }
        base = os.path.join(self.folder, f"{n:04}")
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        with open(base + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(base + ".tmp", base + ".json")
        return "250 OK"


def main():
    # AUTH without TLS is what this loopback-only test server is for.
    warnings.simplefilter("ignore")
    folder, password = sys.argv[1], sys.argv[2]

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"mailer"
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tls = {}
    if len(sys.argv) > 3:
        mode, cert, key = sys.argv[3], sys.argv[4], sys.argv[5]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if mode == "starttls":
            tls = {"tls_context": context, "require_starttls": True}
        else:
            tls = {"ssl_context": context}
    controller = Controller(
        Sink(folder),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
        **tls,
    )
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
