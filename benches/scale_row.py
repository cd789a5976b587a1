#!/usr/bin/env python3
"""benches/scale.sh's arithmetic: merges the `loadgen hold` JSON lines of one phase (one per
shard, on stdin) with the /proc figures the script read into one JSON row; `--human` prints a
row as a line; `--table RAW` prints the markdown table of every row of RAW."""

import json
import math
import sys

PAGE_KIB = 4


def quantile(hist, p):
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(total * p))
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value
    return max(hist)


def row(argv):
    (name, transport, asked, shards, t_open, rss_b, rss_h, rss_a, mem_b, mem_h, mem_a,
     lg_rss, failed) = argv[:13]
    # Optional: /proc/meminfo SUnreclaim (KiB) before and holding: the kernel's socket
    # structures, which tcp_mem does not count.
    slab_b, slab_h = (argv[13:15] + [None, None])[:2]
    lines = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")]
    hist, lost, open_fail = {}, {}, {}
    for l in lines:
        for k, v in l["lateness_ms"].items():
            hist[int(k)] = hist.get(int(k), 0) + v
        for k, v in l["lost_reasons"].items():
            lost[k] = lost.get(k, 0) + v
        for k, v in l["open_failures"].items():
            open_fail[k] = open_fail.get(k, 0) + v
    opened = sum(l["opened"] for l in lines)
    per = lambda a, b: round((int(b) - int(a)) / opened, 2) if opened else None
    return {
        "phase": name, "transport": transport, "asked": int(asked), "opened": opened,
        "server_processes": int(shards), "loadgen_runs_failed": int(failed),
        "open_all_secs": round(float(t_open), 1),
        "hold_secs": lines[0]["hold_secs"] if lines else None,
        "heartbeat_delay": lines[0]["heartbeat_delay"] if lines else None,
        "rss_before_kib": int(rss_b), "rss_holding_kib": int(rss_h), "rss_after_kib": int(rss_a),
        "server_kib_per_session": per(rss_b, rss_h),
        "rss_left_kib": int(rss_a) - int(rss_b),
        "tcp_mem_pages": [int(mem_b), int(mem_h), int(mem_a)],
        "tcp_mem_kib_per_session": round((int(mem_h) - int(mem_b)) * PAGE_KIB / opened, 3)
        if opened else None,
        "lateness_p50_ms": quantile(hist, 0.5), "lateness_p99_ms": quantile(hist, 0.99),
        "lateness_max_ms": max(hist) if hist else None, "heartbeat_gaps": sum(hist.values()),
        "lost": sum(lost.values()), "lost_reasons": lost,
        "open_failed": sum(open_fail.values()), "open_failures": open_fail,
        "slab_kib_per_session": round((int(slab_h) - int(slab_b)) / opened, 2)
        if opened and slab_b is not None else None,
        "loadgen_rss_kib": int(lg_rss),
        "loadgen_kib_per_session": round(int(lg_rss) / opened, 2) if opened else None,
    }


def human(r):
    return (f"{r['phase']}: {r['opened']}/{r['asked']} open in {r['open_all_secs']} s on "
            f"{r['server_processes']} process(es); server {r['server_kib_per_session']} KiB/session; "
            f"TCP mem {r['tcp_mem_kib_per_session']} KiB/session; kernel slab "
            f"{r.get('slab_kib_per_session')} KiB/session; lateness p50 "
            f"{r['lateness_p50_ms']} ms p99 {r['lateness_p99_ms']} ms ({r['heartbeat_gaps']} gaps); "
            f"lost {r['lost']} {r['lost_reasons'] or ''}; open failed {r['open_failed']} "
            f"{r['open_failures'] or ''}; RSS left after close {r['rss_left_kib']} KiB; "
            f"loadgen {r['loadgen_kib_per_session']} KiB/session")


def slab(r):
    v = r.get("slab_kib_per_session")
    return "-" if v is None else f"{v} KiB"


def table(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    out = ["| sessions (transport) | server processes | open | time to open all | server RSS per "
           "session (holding - before) | kernel TCP mem per session (both ends) | kernel slab per "
           "session (both ends) | heartbeat "
           "lateness p50 / p99 / max | lost | open failed | server RSS after close - before | "
           "loadgen RSS per session |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(
            f"| {r['asked']:,} {r['transport']}, held {r['hold_secs']:g} s, heartbeat "
            f"{r['heartbeat_delay']:g} s | {r['server_processes']} | {r['opened']:,} | "
            f"{r['open_all_secs']} s | {r['server_kib_per_session']} KiB | "
            f"{r['tcp_mem_kib_per_session']} KiB | {slab(r)} | {r['lateness_p50_ms']} / "
            f"{r['lateness_p99_ms']} / {r['lateness_max_ms']} ms | {r['lost']} | "
            f"{r['open_failed']} | {r['rss_left_kib'] / 1024:.1f} MiB | "
            f"{r['loadgen_kib_per_session']} KiB |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1] == "--human":
        print(human(json.loads(sys.stdin.read())))
    elif sys.argv[1] == "--table":
        sys.stdout.write(table(sys.argv[2]))
    else:
        print(json.dumps(row(sys.argv[1:])))
