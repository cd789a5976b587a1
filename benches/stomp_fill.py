#!/usr/bin/env python3
"""Publishes COUNT messages of SIZE bytes over STOMP/TCP, spread round-robin over DESTS
destinations `/topic/fill.N`, then DISCONNECTs with a receipt (so the server has taken every
SEND). Used by benches/history.sh to fill the message history. Standard library only.

Usage: stomp_fill.py PORT COUNT DESTS SIZE
"""
import socket
import sys

TIMEOUT_S = 60


def main():
    port, count, dests, size = (int(a) for a in sys.argv[1:5])
    body = b"x" * size
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    sock.sendall(b"CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\0")
    reply = b""
    while b"\0" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("stomp_fill.py: closed before CONNECTED")
        reply += chunk
    if not reply.startswith(b"CONNECTED"):
        sys.exit(f"stomp_fill.py: {reply!r}")
    batch = []
    for i in range(count):
        head = f"SEND\ndestination:/topic/fill.{i % dests}\ncontent-length:{size}\n\n"
        batch.append(head.encode() + body + b"\0")
        if len(batch) == 500:
            sock.sendall(b"".join(batch))
            batch = []
    sock.sendall(b"".join(batch) + b"DISCONNECT\nreceipt:done\n\n\0")
    reply = b""
    while b"receipt-id:done" not in reply:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("stomp_fill.py: closed before the DISCONNECT receipt")
        reply += chunk
    print(count)


if __name__ == "__main__":
    main()
