#!/usr/bin/env python3
"""Proves that SockJS polling sessions stay on one node behind deploy/nginx-two-nodes.conf.

Usage: sticky_check.py --url http://127.0.0.1:PORT --access-log FILE [--rounds N]

Through /cookie_needed_echo, for xhr-polling and jsonp-polling, it runs N fresh "clients" of
three kinds: with an application's JSESSIONID (random per client; the server must echo it),
keeping the server's own cookie ("dummy"), and without cookies. Each does GET info, opens a
session and echoes two messages (five requests). Then it reads nginx's access log
($upstream_addr per request) and checks that every session's requests reached one node, and
that both nodes got sessions. Standard library only; every request has a 5 s timeout.
Prints one line per check and a last line "N passed, M failed"; exit 1 on failure.
"""
import argparse
import collections
import http.client
import json
import random
import re
import sys
import time
import urllib.parse
import uuid

PREFIX = "/cookie_needed_echo"


class Client:
    """One HTTP client with an optional one-cookie jar (JSESSIONID)."""

    def __init__(self, host, port, cookies, jsessionid=None):
        self.host, self.port, self.cookies, self.jsessionid = host, port, cookies, jsessionid

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        headers = dict(headers or {})
        if self.cookies and self.jsessionid:
            headers["Cookie"] = "JSESSIONID=" + self.jsessionid
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read().decode("utf-8")
            for name, value in resp.getheaders():
                m = re.match(r"JSESSIONID=([^;]*)", value) if name.lower() == "set-cookie" else None
                if m and self.cookies:
                    if self.jsessionid and m.group(1) != self.jsessionid:
                        raise AssertionError("server replaced JSESSIONID %s with %s" % (self.jsessionid, m.group(1)))
                    self.jsessionid = m.group(1)
            return resp.status, data
        finally:
            conn.close()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def xhr_polling(c, base, messages):
    status, body = c.request("POST", base + "/xhr")
    expect((status, body) == (200, "o\n"), "open: %s %r" % (status, body))
    for m in messages:
        status, body = c.request("POST", base + "/xhr_send", json.dumps([m], ensure_ascii=False).encode("utf-8"),
                                 {"Content-Type": "text/plain"})
        expect(status == 204, "xhr_send: %s %r" % (status, body))
        status, body = c.request("POST", base + "/xhr")
        expect((status, body) == (200, "a" + json.dumps([m], ensure_ascii=False) + "\n"), "poll: %s %r" % (status, body))


def jsonp_polling(c, base, messages):
    status, body = c.request("GET", base + "/jsonp?c=cb")
    expect(status == 200 and body.endswith('cb("o");\r\n'), "open: %s %r" % (status, body))
    for m in messages:
        form = urllib.parse.urlencode({"d": json.dumps([m], ensure_ascii=False)})
        status, body = c.request("POST", base + "/jsonp_send", form,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        expect((status, body) == (200, "ok"), "jsonp_send: %s %r" % (status, body))
        status, body = c.request("GET", base + "/jsonp?c=cb")
        frame = "a" + json.dumps([m], ensure_ascii=False)
        expect(status == 200 and body.endswith("cb(" + json.dumps(frame, ensure_ascii=False) + ");\r\n"),
               "poll: %s %r" % (status, body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    url = urllib.parse.urlsplit(args.url)
    passed, failed = 0, 0
    sessions = {}  # session id -> case name

    def report(ok, line):
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(("ok   " if ok else "FAIL ") + line, flush=True)

    kinds = (("with an application JSESSIONID", True, True),
             ("keeping the server's JSESSIONID=dummy", True, False),
             ("without cookies", False, False))
    for name, run in (("xhr-polling", xhr_polling), ("jsonp-polling", jsonp_polling)):
        for kind, cookies, app_cookie in kinds:
            case = "%s %s" % (name, kind)
            started, errors = time.monotonic(), []
            for i in range(args.rounds):
                c = Client(url.hostname, url.port, cookies, uuid.uuid4().hex if app_cookie else None)
                try:
                    status, body = c.request("GET", PREFIX + "/info")
                    expect(status == 200 and '"cookie_needed":true' in body.replace(" ", ""), "info: %s %r" % (status, body))
                    sid = uuid.uuid4().hex
                    sessions[sid] = case
                    run(c, "%s/%03d/%s" % (PREFIX, random.randrange(1000), sid), ["round %d a" % i, "round %d b ✓" % i])
                    if cookies and not app_cookie:
                        expect(c.jsessionid == "dummy", "expected JSESSIONID=dummy, got %r" % c.jsessionid)
                except (AssertionError, OSError, http.client.HTTPException) as e:
                    errors.append("round %d: %s" % (i, e))
            secs = time.monotonic() - started
            report(not errors, "%s: %d echo sessions in a row through the balancer (%.1fs)%s" % (
                case, args.rounds, secs, "" if not errors else ": %d failed, first %s" % (len(errors), errors[0])))

    # Which node served each request of each session, from nginx's access log.
    nodes_of = collections.defaultdict(set)
    line_re = re.compile(r'"[A-Z]+ %s/[^/]+/([0-9a-f]{32})/[a-z_]+[^"]*" \d+ upstream=(\S+)' % re.escape(PREFIX))
    with open(args.access_log, encoding="utf-8") as f:
        for line in f:
            m = line_re.search(line)
            if m and m.group(1) in sessions:
                nodes_of[m.group(1)].add(m.group(2))
    split = [s for s, nodes in nodes_of.items() if len(nodes) != 1]
    report(len(nodes_of) == len(sessions) and not split,
           "each of %d sessions reached exactly one node (nginx $upstream_addr)%s" % (
               len(sessions), "" if not split else ": %d split, e.g. %s" % (len(split), sorted(nodes_of[split[0]]))))
    per_node = collections.Counter(next(iter(n)) for n in nodes_of.values() if len(n) == 1)
    report(len(per_node) == 2, "sessions per node: %s" % dict(per_node))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
