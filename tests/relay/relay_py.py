"""stomp.py side of the relay suite: sends over a node's STOMP TCP listener.

Usage: python3 relay_py.py TCP_PORT DESTINATION BODY [COUNT] [LOGIN:PASSCODE]
Connects (STOMP 1.2), sends COUNT messages (BODY-0, BODY-1, ...; one message BODY if COUNT
is 1), disconnects with a receipt. Exits non-zero if anything fails within WAIT seconds.
"""

import sys

import stomp

WAIT = 10.0


def main():
    port, destination, body = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    login = sys.argv[5].split(":", 1) if len(sys.argv) > 5 else None
    conn = stomp.Connection12([("127.0.0.1", port)], timeout=WAIT)
    if login:
        conn.connect(login[0], login[1], wait=True)
    else:
        conn.connect(wait=True)
    for i in range(count):
        conn.send(destination, body if count == 1 else f"{body}-{i}")
    conn.disconnect()


if __name__ == "__main__":
    main()
