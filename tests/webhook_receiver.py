"""`python -m tests.webhook_receiver PORT DIR`: a webhook receiver process for the tests (and the
bench), on 127.0.0.1, that verifies every delivery with the `standardwebhooks` library.

`DIR/config.json` (read at each request) maps a path to {"secret": "whsec_…", "script": [...]}:
the n-th request to that path does what the script's n-th step says, `"ok"` once it runs out:
    "ok"     verify the signature; 204 if it holds, 401 if not
    "500"    answer 500 without looking
    "hang"   say nothing for 30 s (longer than any deliverer waits)
    "slow"   wait 0.5 s, then as "ok"
Each request is appended to `DIR/requests.jsonl` as it arrives (path, step, webhook-id,
verified, the event's type and data, when it came): what the tests read. The request counts are
taken from that file at start, so the receiver can be stopped and started again (a receiver
that is down for a while) and go on with its scripts.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY = 1024 * 1024


class Receiver(BaseHTTPRequestHandler):
    directory: Path
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:
        arrived = time.time()
        body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), MAX_BODY))
        config = json.loads((self.directory / "config.json").read_text()).get(self.path, {})
        with self.lock:
            step_number = self.counts.get(self.path, 0)
            self.counts[self.path] = step_number + 1
        script = config.get("script", [])
        step = script[step_number] if step_number < len(script) else "ok"
        verified, event = self.verify(config.get("secret", ""), body)
        self.record({"path": self.path, "step": step, "n": step_number, "at": arrived,
                     "webhook_id": self.headers.get("webhook-id"), "verified": verified,
                     "signatures": len(self.headers.get("webhook-signature", "").split()),
                     "type": event.get("type"), "data": event.get("data")})
        if step == "500":
            self.answer(500)
        elif step == "hang":
            time.sleep(30)
        else:
            if step == "slow":
                time.sleep(0.5)
            self.answer(204 if verified else 401)

    def verify(self, secret: str, body: bytes) -> tuple[bool, dict[str, Any]]:
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            return True, Webhook(secret).verify(body, headers)
        except (WebhookVerificationError, ValueError):
            return False, {}

    def record(self, line: dict[str, Any]) -> None:
        with self.lock, (self.directory / "requests.jsonl").open("a") as log:
            log.write(json.dumps(line) + "\n")

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests file says it all."""


def main() -> None:
    port, directory = int(sys.argv[1]), Path(sys.argv[2])
    requests = directory / "requests.jsonl"
    Receiver.directory = directory
    if requests.exists():  # started again: the scripts go on where they were
        for line in requests.read_text().splitlines():
            path = json.loads(line)["path"]
            Receiver.counts[path] = Receiver.counts.get(path, 0) + 1
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    server.daemon_threads = True
    (directory / "ready").write_text(str(port))
    server.serve_forever()


if __name__ == "__main__":
    main()
