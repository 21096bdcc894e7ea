#!/usr/bin/python3
"""A mail sink for the tests and the demo: a real SMTP server (Debian's python3-aiosmtpd) on
loopback that writes each message it accepts to a folder, as NAME.eml (the raw message) and
NAME.json (sender, recipients, subject and the decoded text, HTML and calendar parts).

    /usr/bin/python3 scripts/smtp_sink.py --dir DIR [--port PORT]

Prints "listening on PORT" once it accepts connections (port 0 picks a free one). Recipients
whose address starts with "reject" get 550 (refused for good), "defer" get 451 (try later), so
tests can provoke both kinds of refusal."""

import argparse
import asyncio
import email
import email.policy
import itertools
import json
import os
import socket
import time

from aiosmtpd.smtp import SMTP


class FolderHandler:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such mailbox here"
        if local.startswith("defer"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {"text": "", "html": "", "ics": "", "ics_content_type": ""}
        for part in message.walk():
            kind = part.get_content_type()
            if part.is_multipart():
                continue
            if kind == "text/calendar":
                parts["ics"] = part.get_content()
                parts["ics_content_type"] = str(part["content-type"])
            elif kind == "text/plain" and not parts["text"]:
                parts["text"] = part.get_content()
            elif kind == "text/html" and not parts["html"]:
                parts["html"] = part.get_content()
        record = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(message["subject"] or ""),
            "message_id": str(message["message-id"] or ""),
            **parts,
        }
        name = f"{time.time_ns()}-{next(self.counter):06d}"
        # Written under a temporary name and renamed: a reader never sees half a message.
        for suffix, data in ((".eml", raw), (".json", json.dumps(record).encode("utf-8"))):
            path = os.path.join(self.folder, name + suffix)
            with open(path + ".tmp", "wb") as out:
                out.write(data)
            os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = FolderHandler(args.dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Restarted on the same port at once (the tests stop and restart it).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(64)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mail-sink.localhost"), sock=sock
    )
    print(f"listening on {sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
