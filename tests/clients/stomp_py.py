"""stomp.py against a running sockjs-server: STOMP 1.0/1.1/1.2 over the TCP listener and
STOMP 1.2 over the raw WebSocket at /stomp/websocket, including the identity of the
WebSocket handshake's `Authorization: Basic` (stomp.py's WSStompConnection passes `header=`
to websocket-client's handshake), which needs no CONNECT credentials.

The server must run with --stomp-user alice:pw --stomp-user bob:pw (run-stomp.sh does).

Usage: python3 stomp_py.py TCP_PORT HTTP_PORT
Prints one line per case and a final "N passed, M failed"; exits non-zero on any failure.
Every wait is bounded by WAIT.
"""

import base64
import itertools
import logging
import os
import queue
import socket
import sys
import time
import traceback

import stomp
import websocket
from stomp.adapter.ws import WSStompConnection

HOST = "127.0.0.1"
WAIT = 10.0
TCP_PORT = int(sys.argv[1])
HTTP_PORT = int(sys.argv[2])
_ids = itertools.count(1)


def uid(name):
    return f"{name}-{os.getpid()}-{next(_ids)}"


class Recorder(stomp.ConnectionListener):
    """Collects every frame the connection receives, by kind."""

    def __init__(self):
        self.messages = queue.Queue()
        self.receipts = queue.Queue()
        self.errors = queue.Queue()
        self.disconnected = queue.Queue()
        self.heartbeats = 0

    def on_message(self, frame):
        self.messages.put(frame)

    def on_receipt(self, frame):
        self.receipts.put(frame.headers.get("receipt-id"))

    def on_error(self, frame):
        self.errors.put(frame)

    def on_disconnected(self):
        self.disconnected.put(True)

    def on_heartbeat(self):
        self.heartbeats += 1

    def message(self):
        return self.messages.get(timeout=WAIT)

    def receipt(self, expected):
        got = self.receipts.get(timeout=WAIT)
        assert got == expected, f"receipt {got!r}, expected {expected!r}"

    def quiet(self):
        assert self.messages.empty(), f"unexpected message: {self.messages.queue[0]}"


OPEN = []


def connect(version="1.2", login=None, heartbeats=(0, 0), websocket=False):
    if websocket:
        conn = WSStompConnection([(HOST, HTTP_PORT)], ws_path="/stomp/websocket",
                                 heartbeats=heartbeats, timeout=WAIT)
    else:
        kind = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}[version]
        conn = kind([(HOST, TCP_PORT)], timeout=WAIT) if version == "1.0" else \
            kind([(HOST, TCP_PORT)], heartbeats=heartbeats, timeout=WAIT)
    recorder = Recorder()
    conn.set_listener("recorder", recorder)
    if login:
        conn.connect(login, "pw", wait=True)
    else:
        conn.connect(wait=True)
    OPEN.append(conn)
    return conn, recorder


def subscribe(conn, rec, destination, ack="auto", sub_id=None):
    receipt = uid("sub")
    conn.subscribe(destination, id=sub_id or uid("id"), ack=ack, headers={"receipt": receipt})
    rec.receipt(receipt)


def flush(conn, rec):
    """A SEND with a receipt: everything sent before it has been routed."""
    receipt = uid("flush")
    conn.send(f"/topic/{uid('flush')}", "", headers={"receipt": receipt})
    rec.receipt(receipt)


CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def connects_with_heart_beats_and_stays_up():
    conn, rec = connect(heartbeats=(500, 500))
    time.sleep(2.0)
    assert conn.is_connected()
    assert rec.heartbeats > 0, "server heart-beats arrived"


@case
def every_version_connects_and_round_trips():
    for version in ("1.0", "1.1", "1.2"):
        conn, rec = connect(version=version)
        topic = f"/topic/{uid('v')}"
        subscribe(conn, rec, topic, sub_id="s1")
        conn.send(topic, f"hello {version}", headers={"x-colon": "a:b"})
        m = rec.message()
        assert m.body == f"hello {version}", m.body
        assert m.headers["x-colon"] == "a:b", m.headers


@case
def a_topic_message_reaches_two_clients():
    topic = f"/topic/{uid('news')}"
    a, ra = connect()
    b, rb = connect(websocket=True)
    subscribe(a, ra, topic)
    subscribe(b, rb, topic)
    a.send(topic, "to everyone")
    assert ra.message().body == "to everyone"
    assert rb.message().body == "to everyone"


@case
def queue_consumers_compete():
    q = f"/queue/{uid('jobs')}"
    producer, rp = connect()
    one, r1 = connect()
    two, r2 = connect()
    subscribe(one, r1, q)
    subscribe(two, r2, q)
    for i in range(6):
        producer.send(q, str(i))
    got = sorted([r1.message().body for _ in range(3)] + [r2.message().body for _ in range(3)])
    assert got == [str(i) for i in range(6)], got
    flush(producer, rp)
    r1.quiet()
    r2.quiet()


@case
def client_ack_and_nack_redelivery():
    for version in ("1.1", "1.2"):
        q = f"/queue/{uid('work')}"
        conn, rec = connect(version=version)
        sub = "w"
        subscribe(conn, rec, q, ack="client-individual", sub_id=sub)
        conn.send(q, "job")
        first = rec.message()
        ack_id = first.headers.get("ack", first.headers["message-id"])
        if version == "1.2":
            conn.nack(ack_id)
        else:
            conn.nack(ack_id, sub)
        again = rec.message()
        assert again.body == "job"
        assert again.headers["message-id"] == first.headers["message-id"]
        if version == "1.2":
            conn.ack(again.headers["ack"])
        else:
            conn.ack(again.headers["message-id"], sub)
        flush(conn, rec)
        rec.quiet()


@case
def unacked_messages_go_to_the_next_consumer_on_disconnect():
    q = f"/queue/{uid('handover')}"
    first, r1 = connect()
    subscribe(first, r1, q, ack="client")
    first.send(q, "unfinished")
    assert r1.message().body == "unfinished"
    first.disconnect()
    second, r2 = connect()
    subscribe(second, r2, q)
    assert r2.message().body == "unfinished"


@case
def transactions_commit_and_abort():
    topic = f"/topic/{uid('tx')}"
    conn, rec = connect()
    subscribe(conn, rec, topic)
    tx = conn.begin()
    conn.send(topic, "dropped", transaction=tx)
    conn.abort(tx)
    tx = conn.begin()
    conn.send(topic, "kept", transaction=tx)
    conn.send(topic, "outside")
    conn.commit(tx)
    assert rec.message().body == "outside"
    assert rec.message().body == "kept"
    flush(conn, rec)
    rec.quiet()


@case
def receipts_for_send_and_disconnect():
    conn, rec = connect()
    conn.send("/topic/receipts", "x", headers={"receipt": "r-send"})
    rec.receipt("r-send")
    conn.disconnect(receipt="r-bye")
    assert not conn.is_connected()


@case
def error_frames_for_bad_input_then_close():
    conn, rec = connect()
    conn.send("/nowhere", "x", headers={"receipt": "bad"})
    error = rec.errors.get(timeout=WAIT)
    assert "unknown destination" in error.headers["message"], error.headers
    assert error.headers.get("receipt-id") == "bad"
    rec.disconnected.get(timeout=WAIT)
    # Raw garbage on a plain socket: ERROR, then the server closes.
    with socket.create_connection((HOST, TCP_PORT), timeout=WAIT) as raw:
        raw.sendall(b"GARBAGE\n\n\x00")
        data = b""
        while True:
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"ERROR\n") and b"message:malformed frame" in data, data


@case
def an_unknown_command_gets_an_error_naming_its_receipt():
    # stomp.py sends any command it is given: the server's decoder refuses this one, and the
    # ERROR still names the frame's receipt (STOMP 1.2 "ERROR"), over TCP and WebSocket.
    for websocket in (False, True):
        conn, rec = connect(websocket=websocket)
        conn.send_frame("BOGUS", {"receipt": "r-bogus"})
        error = rec.errors.get(timeout=WAIT)
        assert error.headers.get("message") == "malformed frame", error.headers
        assert error.headers.get("receipt-id") == "r-bogus", error.headers
        rec.disconnected.get(timeout=WAIT)


@case
def user_destinations_reach_every_session_of_a_user():
    a1, r1 = connect(login="alice")
    a2, r2 = connect(login="alice", websocket=True)
    bob, rb = connect(login="bob")
    for conn, rec in ((a1, r1), (a2, r2)):
        subscribe(conn, rec, "/user/queue/inbox")
    bob.send("/user/alice/queue/inbox", "for alice")
    for rec in (r1, r2):
        m = rec.message()
        assert m.body == "for alice"
        assert m.headers["destination"] == "/user/queue/inbox"


def basic(user, password):
    """An `Authorization: Basic` header (RFC 7617)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Connected(stomp.ConnectionListener):
    """Keeps the CONNECTED frame."""

    def __init__(self):
        self.frames = queue.Queue()

    def on_connected(self, frame):
        self.frames.put(frame)


def connect_with_header(header, connect_headers=None):
    """stomp.py over /stomp/websocket with `header` on the handshake; CONNECT carries only
    `connect_headers` (no login/passcode unless given there)."""
    conn = WSStompConnection([(HOST, HTTP_PORT)], ws_path="/stomp/websocket", header=header,
                             timeout=WAIT, reconnect_attempts_max=1)
    recorder, connected = Recorder(), Connected()
    conn.set_listener("recorder", recorder)
    conn.set_listener("connected", connected)
    conn.connect(headers=connect_headers or {}, wait=True)
    OPEN.append(conn)
    return conn, recorder, connected.frames.get(timeout=WAIT)


@case
def http_basic_on_the_websocket_handshake_is_the_user_without_connect_credentials():
    conn, rec, frame = connect_with_header(basic("alice", "pw"))
    assert frame.headers.get("user-name") == "alice", frame.headers
    # The user is alice for the broker too: a whisper to alice comes back to this session.
    subscribe(conn, rec, "/user/queue/whisper")
    conn.send("/app/whisper/alice", "note to self")
    m = rec.message()
    assert m.body == "note to self" and m.headers.get("sender") == "alice", (m.body, m.headers)


@case
def the_handshake_identity_wins_over_connect_credentials():
    # The HTTP request proved alice; CONNECT's login/passcode (bob's) are not used.
    _, _, frame = connect_with_header(basic("alice", "pw"), {"login": "bob", "passcode": "pw"})
    assert frame.headers.get("user-name") == "alice", frame.headers


@case
def a_wrong_password_gets_401_on_the_websocket_handshake():
    url = f"ws://{HOST}:{HTTP_PORT}/stomp/websocket"
    for header in (basic("alice", "wrong"), basic("nobody", "pw")):
        try:
            ws = websocket.create_connection(url, header=header, timeout=WAIT)
            ws.close()
            raise AssertionError(f"handshake with {header} accepted")
        except websocket.WebSocketBadStatusException as e:
            assert e.status_code == 401, e.status_code
    # stomp.py sees the refusal as a failed connect (it keeps no status code), and logs a
    # warning for it, expected here.
    stomp_log = logging.getLogger("stomp.py")
    level = stomp_log.level
    stomp_log.setLevel(logging.ERROR)
    try:
        connect_with_header(basic("alice", "wrong"))
        raise AssertionError("stomp.py connected with a wrong password")
    except stomp.exception.ConnectFailedException:
        pass
    finally:
        stomp_log.setLevel(level)


def main():
    passed = failed = 0
    for fn in CASES:
        try:
            fn()
            passed += 1
            print(f"ok   {fn.__name__}", flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {fn.__name__}:\n{traceback.format_exc()}", flush=True)
        while OPEN:
            conn = OPEN.pop()
            try:
                if conn.is_connected():
                    conn.disconnect()
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass
    print(f"python: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
