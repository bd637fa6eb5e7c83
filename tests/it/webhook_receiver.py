"""A webhook receiver for the integration tests: it verifies every request
with the PyPI `standardwebhooks` package (an implementation of the spec
independent of the gateway's) and answers with the statuses it is told.

    python webhook_receiver.py        prints "PORT <n>", then serves on 127.0.0.1

Control (JSON over HTTP, on the same port):
    POST /_control {"secrets": ["whsec_..."], "statuses": [500, 500, 200],
                    "default": 200}
        secrets: the signing secrets a request may verify with (any one);
        statuses: the answers to the next requests, in order; then `default`.
    GET /_requests  every request so far: webhook-id, -timestamp,
        -signature, the body, the status answered, and whether (and with
        which secret, by index) it verified.
Anything else POSTed is a delivery.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

LOCK = threading.Lock()
STATE = {"secrets": [], "statuses": [], "default": 200, "requests": []}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/_requests":
            return self.reply(404)
        with LOCK:
            body = json.dumps(STATE["requests"]).encode()
        self.reply(200, body)

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/_control":
            control = json.loads(raw)
            with LOCK:
                for key in ("secrets", "statuses", "default"):
                    if key in control:
                        STATE[key] = control[key]
            return self.reply(200, b"{}")
        headers = {
            "webhook-id": self.headers.get("webhook-id", ""),
            "webhook-timestamp": self.headers.get("webhook-timestamp", ""),
            "webhook-signature": self.headers.get("webhook-signature", ""),
        }
        with LOCK:
            secrets = list(STATE["secrets"])
            status = STATE["statuses"].pop(0) if STATE["statuses"] else STATE["default"]
        verified_with, error = None, ""
        for index, secret in enumerate(secrets):
            try:
                Webhook(secret).verify(raw, headers)
                verified_with = index
                break
            except Exception as err:  # the package raises its own error types
                error = f"{type(err).__name__}: {err}"
        with LOCK:
            STATE["requests"].append(
                {
                    "path": self.path,
                    "id": headers["webhook-id"],
                    "timestamp": headers["webhook-timestamp"],
                    "signature": headers["webhook-signature"],
                    "content_type": self.headers.get("content-type", ""),
                    "body": raw.decode("utf-8", "replace"),
                    "status": status,
                    "verified_with": verified_with,
                    "error": error,
                }
            )
        self.reply(status, b"{}")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    # Stop with the test: when stdin closes.
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
