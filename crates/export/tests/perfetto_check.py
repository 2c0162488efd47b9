#!/usr/bin/env python3
"""Decodes a Perfetto trace written by `goroscope export perfetto` with Perfetto's official
generated classes (PyPI's `perfetto` package), independently of goroscope's own encoder, and
prints what the Rust test compares with the report of the same recording (JSON on stdout):
per goroutine track its running time and slices, per P track its busy time, slices and
overlaps, per thread its on/off-CPU time, flows (each must end at the start of a running slice
on its target goroutine's track), counters, instants and kernel syscalls.

Slices are paired the way a trace processor pairs them: per track, events sorted by timestamp
(stable: file order breaks ties), a BEGIN opens a slice, an END closes the innermost one.
Exits non-zero on anything malformed (an END with nothing open, an unknown interned id, a
track event on an undeclared track, a flow with no end)."""

import json
import re
import sys
from collections import defaultdict

from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb


def fail(msg):
    print(f"perfetto_check: {msg}", file=sys.stderr)
    sys.exit(1)


def main(path):
    trace = pb.Trace()
    with open(path, "rb") as f:
        trace.ParseFromString(f.read())
    packets = trace.packet
    if not packets:
        fail("no packets")
    TE = pb.TrackEvent
    first = packets[0]
    if not first.sequence_flags & pb.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED:
        fail("the first packet does not clear the incremental state")

    tracks = {}
    event_names, annotation_names = {}, {}
    events = defaultdict(list)  # track uuid -> [(ts, order, type, name, flows, terminating)]
    counters = defaultdict(int)
    for order, p in enumerate(packets):
        seq = p.trusted_packet_sequence_id
        if order > 0 and not p.sequence_flags & pb.TracePacket.SEQ_NEEDS_INCREMENTAL_STATE:
            fail(f"packet {order} does not declare that it needs incremental state")
        if p.HasField("interned_data"):
            for n in p.interned_data.event_names:
                event_names[(seq, n.iid)] = n.name
            for n in p.interned_data.debug_annotation_names:
                annotation_names[(seq, n.iid)] = n.name
        if p.HasField("track_descriptor"):
            d = p.track_descriptor
            tracks[d.uuid] = d
        if p.HasField("track_event"):
            e = p.track_event
            if e.track_uuid not in tracks:
                fail(f"packet {order}: event on undeclared track {e.track_uuid}")
            for a in e.debug_annotations:
                if a.HasField("name_iid") and (seq, a.name_iid) not in annotation_names:
                    fail(f"packet {order}: unknown annotation name iid {a.name_iid}")
            if e.HasField("name_iid"):
                if (seq, e.name_iid) not in event_names:
                    fail(f"packet {order}: unknown event name iid {e.name_iid}")
                name = event_names[(seq, e.name_iid)]
            else:
                name = e.name
            if e.type == TE.TYPE_COUNTER:
                counters[tracks[e.track_uuid].name] += 1
                continue
            resumed = any(
                annotation_names.get((seq, a.name_iid)) == "resumed_after_syscall"
                for a in e.debug_annotations
            )
            events[e.track_uuid].append(
                (p.timestamp, order, e.type, name, list(e.flow_ids), list(e.terminating_flow_ids), resumed)
            )

    def kind(uuid):
        d = tracks[uuid]
        if d.HasField("thread"):
            return ("thread", d.thread.tid)
        m = re.match(r"^G(\d+)\b", d.name)
        if m:
            return ("goroutine", int(m.group(1)))
        m = re.match(r"^P(\d+)$", d.name)
        if m:
            return ("proc", int(m.group(1)))
        if d.name == "syscalls" and d.parent_uuid in tracks and tracks[d.parent_uuid].HasField("thread"):
            return ("syscalls", tracks[d.parent_uuid].thread.tid)
        return ("other", d.name)

    goroutines = defaultdict(
        lambda: {"running_ns": 0, "running_slices": 0, "scheduled_slices": 0, "overlaps": 0}
    )
    procs = defaultdict(lambda: {"busy_ns": 0, "slices": 0, "overlaps": 0})
    threads = defaultdict(lambda: {"on_cpu_ns": 0, "off_cpu_ns": 0, "overlaps": 0})
    syscalls = {"count": 0, "total_ns": 0}
    instants = defaultdict(int)
    flow_starts = {}  # id -> (ts, uuid)
    flow_ends = {}  # id -> (ts, uuid, name of the slice it ends on)
    for uuid, evs in events.items():
        what, ident = kind(uuid)
        evs.sort(key=lambda e: (e[0], e[1]))
        open_slices = []
        for ts, order, typ, name, flows, terminating, resumed in evs:
            for f in flows:
                if f in flow_starts:
                    fail(f"flow {f} starts twice")
                flow_starts[f] = (ts, uuid)
            for f in terminating:
                if f in flow_ends:
                    fail(f"flow {f} ends twice")
                flow_ends[f] = (ts, uuid, name if typ == TE.TYPE_SLICE_BEGIN else None)
            if typ == TE.TYPE_INSTANT:
                instants[name] += 1
            elif typ == TE.TYPE_SLICE_BEGIN:
                if open_slices:
                    {"goroutine": goroutines, "proc": procs, "thread": threads}.get(
                        what, defaultdict(lambda: {"overlaps": 0})
                    )[ident]["overlaps"] += 1
                open_slices.append((ts, name, resumed))
            elif typ == TE.TYPE_SLICE_END:
                if not open_slices:
                    fail(f"packet {order}: slice end with nothing open on track {tracks[uuid].name}")
                start, sname, resumed = open_slices.pop()
                dur = ts - start
                if dur < 0:
                    fail(f"negative slice on {tracks[uuid].name}")
                if what == "goroutine" and sname == "running":
                    goroutines[ident]["running_ns"] += dur
                    goroutines[ident]["running_slices"] += 1
                    # A run resumed after a syscall is not a new time slice (no GoStart).
                    goroutines[ident]["scheduled_slices"] += 0 if resumed else 1
                elif what == "proc":
                    procs[ident]["busy_ns"] += dur
                    procs[ident]["slices"] += 1
                elif what == "thread" and sname in ("on CPU", "off CPU"):
                    threads[ident]["on_cpu_ns" if sname == "on CPU" else "off_cpu_ns"] += dur
                elif what == "syscalls":
                    syscalls["count"] += 1
                    syscalls["total_ns"] += dur
        if open_slices:
            fail(f"{len(open_slices)} slices never end on track {tracks[uuid].name}")

    bad_flows = []
    for f, (ts, uuid) in flow_starts.items():
        end = flow_ends.get(f)
        if end is None:
            bad_flows.append(f"flow {f} has no end")
            continue
        end_ts, end_uuid, slice_name = end
        if kind(end_uuid)[0] != "goroutine" or slice_name != "running":
            bad_flows.append(f"flow {f} does not end at a run of a goroutine")
        elif end_ts < ts:
            bad_flows.append(f"flow {f} ends before it starts")
    for f in flow_ends:
        if f not in flow_starts:
            bad_flows.append(f"flow {f} ends but never starts")

    kinds = defaultdict(int)
    for uuid in tracks:
        kinds[kind(uuid)[0]] += 1
    json.dump(
        {
            "packets": len(packets),
            "tracks": kinds,
            "goroutines": goroutines,
            "procs": procs,
            "threads": threads,
            "syscalls": syscalls,
            "flows": {"started": len(flow_starts), "ended": len(flow_ends), "bad": bad_flows[:20]},
            "counters": counters,
            "instants": instants,
        },
        sys.stdout,
        sort_keys=True,
    )


if __name__ == "__main__":
    main(sys.argv[1])
