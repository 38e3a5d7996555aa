"""A throttling HTTP/1.1 proxy on loopback for make bench's resume row.

It stands between one client (regcli) and a plain-HTTP registry: it reads
each request head, forwards the body by its Content-Length (the client sends
no chunked bodies), slows PATCH bodies to a rate while throttled, counts the
body bytes of every request, and can kill the client (SIGKILL) at a point of
the upload: as the next PATCH arrives once so many PATCH bytes went on
(between chunks), or as soon as they did (mid-PATCH, the cut left to the
registry). Responses go back as they come. A TLS probe (the client trying
HTTPS first) is passed through untouched; the registry refuses it.

Standard library only: make bench needs nothing users lack.
"""

import re
import socket
import threading
import time

BUF = 256 * 1024


class Proxy:
    """Listens on 127.0.0.1 (port chosen by the system) and forwards to
    upstream ("host:port"). The caller owns the victim process it hands to
    kill_at; the proxy only kills and reaps it."""

    def __init__(self, upstream, rate):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.rate = rate  # PATCH body bytes per second while throttled
        self.throttle = True
        self.lock = threading.Lock()
        self.patch_bytes = 0  # PATCH body bytes forwarded
        self.body_bytes = 0  # body bytes of every request forwarded
        self.ranges = []  # Content-Range of each PATCH forwarded
        self.victim, self.kill_bytes, self.mid = None, None, False
        self.killed_at = None  # PATCH bytes forwarded when the victim was killed
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def kill_at(self, victim, patch_bytes, mid=False):
        """Kills `victim` (a Popen) once `patch_bytes` PATCH body bytes went
        on: as the next PATCH comes (before any of it goes on), or, with
        `mid`, as soon as they did, in the middle of that PATCH."""
        with self.lock:
            self.victim, self.kill_bytes, self.mid = victim, patch_bytes, mid

    def reset(self):
        """The counts so far, zeroed: (body bytes, PATCH ranges)."""
        with self.lock:
            out = (self.body_bytes, self.ranges)
            self.body_bytes, self.patch_bytes, self.ranges = 0, 0, []
            return out

    def close(self):
        self.closed = True
        self.listener.close()

    def _kill_if(self, due):
        with self.lock:
            if self.victim is None or not due(self.patch_bytes):
                return False
            self.victim.kill()
            self.victim.wait()
            self.killed_at, self.victim = self.patch_bytes, None
            return True

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._forward, args=(client, server), daemon=True).start()

    def _forward(self, client, server):
        def back():
            try:
                while data := server.recv(BUF):
                    client.sendall(data)
            except OSError:
                pass
            _shut(client)

        threading.Thread(target=back, daemon=True).start()
        reader = client.makefile("rb", buffering=BUF)
        try:
            first = reader.peek(1)[:1]
            if first == b"\x16":  # a TLS ClientHello: as is
                while data := reader.read1(BUF):
                    server.sendall(data)
                return
            while self._request(reader, server):
                pass
        except OSError:
            pass
        finally:
            _shut(server)

    def _request(self, reader, server):
        """Forwards one request; False when the connection is over."""
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline(65536)
            if not line:
                return False
            head += line
        text = head.decode("latin-1")
        length = int(_header(text, "content-length") or 0)
        patch = text.startswith("PATCH ")
        if patch:
            if self._kill_if(lambda done: not self.mid and done >= self.kill_bytes):
                return False
            with self.lock:
                self.ranges.append(_header(text, "content-range") or "")
        server.sendall(head)
        left, sent, started = length, 0, time.monotonic()
        while left > 0:
            data = reader.read1(min(BUF, left))
            if not data:
                return False
            server.sendall(data)
            left -= len(data)
            with self.lock:
                self.body_bytes += len(data)
                if patch:
                    self.patch_bytes += len(data)
            if not patch:
                continue
            if self._kill_if(lambda done: self.mid and done >= self.kill_bytes):
                return False  # the registry sees this PATCH cut here
            sent += len(data)
            if self.throttle:
                wait = sent / self.rate - (time.monotonic() - started)
                if wait > 0:
                    time.sleep(wait)
        return True


def _header(head, name):
    m = re.search(rf"^{name}:\s*(.*?)\s*$", head, re.I | re.M)
    return m.group(1) if m else None


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
