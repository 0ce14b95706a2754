#!/usr/bin/env python3
"""trace-svg.py: draw nestvisor's exit trace from a serial log as SVG.

Usage: tools/trace-svg.py LOG [-o OUT] [--seq N]

LOG is a serial log with at least one trace dump (docs/trace.md): lines
  [nestvisor] trace: <seq> L<level> <reason> <NAME> 0x<qual> <action> <tsc_exit> <tsc_resume>
between "[nestvisor] trace begin: ..." and "[nestvisor] trace end". Several
dumps (a hypercall's and the end of the run's) are merged by record number.

The picture (OUT, default build/trace.svg) has two parts:
  - a timeline with one lane per level (L0, L1, L2) for one L2 exit that L0
    reflected to L1: L2 runs, L0 reflects the exit, L1 handles it (L0
    handling each of L1's exits on the way), L1's VMRESUME, L0's nested VM
    entry, L2 runs again. The exit is record --seq N, or else the last
    reflected L2 exit whose path back to L2 is complete in the trace.
  - where L0's time goes: per exit reason, the sum of tsc_resume - tsc_exit
    over every record, as bars.
Time is in TSC ticks; on Bochs one tick is one emulated instruction.
Python 3 standard library only; the SVG is written by hand.
"""
import argparse
import os
import re
import sys
from xml.sax.saxutils import escape

LINE = re.compile(r"\[nestvisor\] trace: (\d+) L(\d) (\d+) (\S+) 0x([0-9a-fA-F]+) (\S+) (\d+) (\d+)")
COLOURS = {0: "#d62728", 1: "#1f77b4", 2: "#2ca02c"}
LANE_NAMES = {0: "L0 (nestvisor)", 1: "L1 (guest hypervisor)", 2: "L2 (nested guest)"}


class Rec:
    def __init__(self, m):
        self.seq = int(m.group(1))
        self.level = int(m.group(2))
        self.reason = int(m.group(3))
        self.name = m.group(4)
        self.qual = int(m.group(5), 16)
        self.action = m.group(6)
        self.tsc_exit = int(m.group(7))
        self.tsc_resume = int(m.group(8))

    @property
    def cost(self):
        return self.tsc_resume - self.tsc_exit


def read_log(path):
    recs = {}
    with open(path, "rb") as f:
        for raw in f:
            m = LINE.search(raw.decode("ascii", "replace"))
            if m:
                r = Rec(m)
                recs[r.seq] = r
    return [recs[k] for k in sorted(recs)]


def round_trip(recs, i):
    """The records from reflected L2 exit recs[i] back to L2: the L2 exit,
    then L1's exits up to and including the nested VM entry; None when the
    trace has a gap or L1 never returns to L2 in it."""
    path = [recs[i]]
    for r in recs[i + 1:]:
        if r.seq != path[-1].seq + 1 or r.level != 1:
            return None
        path.append(r)
        if r.action == "entry":
            return path
    return None


def choose(recs, seq):
    for i in reversed(range(len(recs))):
        r = recs[i]
        if seq is not None and r.seq != seq:
            continue
        if r.level == 2 and r.action == "reflect":
            path = round_trip(recs, i)
            if path:
                return path
        if seq is not None:
            break
    return None


def fmt(n):
    return "{:,}".format(n)


class Svg:
    def __init__(self, width):
        self.width = width
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="start", weight="normal", fill="#222"):
        self.add('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
                 % (x, y, size, anchor, weight, fill, escape(s)))

    def rect(self, x, y, w, h, fill, title=None):
        t = "<title>%s</title>" % escape(title) if title else ""
        self.add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">%s</rect>'
                 % (x, y, max(w, 1.0), h, fill, t))

    def line(self, x1, y1, x2, y2, stroke="#999", dash=None):
        d = ' stroke-dasharray="%s"' % dash if dash else ""
        self.add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"%s/>' % (x1, y1, x2, y2, stroke, d))

    def render(self, height):
        head = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
                'font-family="DejaVu Sans, Arial, sans-serif">\n'
                '<rect x="0" y="0" width="%d" height="%d" fill="white"/>\n'
                % (self.width, height, self.width, height, self.width, height))
        return head + "\n".join(self.parts) + "\n</svg>\n"


def timeline(svg, path, y0):
    """Lanes L0, L1, L2 from y0; returns the y below them."""
    first, last = path[0], path[-1]
    span = last.tsc_resume - first.tsc_exit
    pad = max(span // 12, 1)  # a little L2 before the exit and after the entry
    t0, t1 = first.tsc_exit - pad, last.tsc_resume + pad
    left, right = 190, svg.width - 30
    scale = (right - left) / float(t1 - t0)
    lane_h, gap = 34, 16
    x = lambda t: left + (t - t0) * scale
    lane_y = {lvl: y0 + 30 + i * (lane_h + gap) for i, lvl in enumerate((0, 1, 2))}

    svg.text(20, y0 + 12, "One L2 exit reflected to L1: %s (record %d), L2 -> L0 -> L1 -> L0 -> L2, %s ticks"
             % (first.name, first.seq, fmt(span)), size=15, weight="bold")
    for lvl in (0, 1, 2):
        svg.add('<g id="lane-L%d">' % lvl)
        svg.text(20, lane_y[lvl] + lane_h / 2 + 4, LANE_NAMES[lvl], size=13, fill=COLOURS[lvl], weight="bold")
        svg.line(left, lane_y[lvl] + lane_h, right, lane_y[lvl] + lane_h, stroke="#ddd")
        svg.add("</g>")

    # (level, start, end, label): the guests between the exits, L0 during them.
    segs = [(2, t0, first.tsc_exit, "L2 runs")]
    for i, r in enumerate(path):
        what = {"reflect": "reflects", "entry": "nested VM entry", "emulate": "emulates",
                "l0": "handles"}.get(r.action, r.action)
        segs.append((0, r.tsc_exit, r.tsc_resume, "%s: %s" % (r.name, what)))
        if i + 1 < len(path):
            segs.append((1, r.tsc_resume, path[i + 1].tsc_exit, "L1 handles the exit"))
    segs.append((2, last.tsc_resume, t1, "L2 runs"))

    label_row = {0: 0, 1: 0, 2: 0}
    for lvl, a, b, label in segs:
        y = lane_y[lvl]
        svg.add('<g class="segment" data-level="L%d">' % lvl)
        svg.rect(x(a), y, x(b) - x(a), lane_h, COLOURS[lvl], "%s: %s ticks (%d-%d)" % (label, fmt(b - a), a, b))
        edge = (a == t0 or b == t1)
        cost = "" if edge else "%s ticks" % fmt(b - a)
        mid = (x(a) + x(b)) / 2
        if x(b) - x(a) > 70:
            svg.text(mid, y + 15, label, size=10, anchor="middle", fill="white")
            if cost:
                svg.text(mid, y + 28, cost, size=10, anchor="middle", fill="white")
        else:
            # Too narrow to hold its text: label it below the lane, rows alternating.
            row = label_row[lvl]
            label_row[lvl] += 1
            ly = y + lane_h + 11 + (row % 2) * 11
            svg.text(mid, ly, "%s%s" % (label, ", " + cost if cost else ""), size=9, anchor="middle")
        svg.add("</g>")
    # Transitions between levels: thin dashed verticals.
    for lvl, a, b, label in segs[1:]:
        svg.line(x(a), lane_y[0], x(a), lane_y[2] + lane_h, stroke="#888", dash="2,3")

    axis_y = lane_y[2] + lane_h + 34
    svg.line(left, axis_y, right, axis_y, stroke="#444")
    for k in range(6):
        t = first.tsc_exit + span * k // 5
        svg.line(x(t), axis_y - 4, x(t), axis_y + 4, stroke="#444")
        svg.text(x(t), axis_y + 17, "+%s" % fmt(t - first.tsc_exit), size=10, anchor="middle")
    svg.text(left, axis_y + 33, "TSC ticks since the L2 exit (TSC %d); on Bochs a tick is an emulated instruction"
             % first.tsc_exit, size=11)
    return axis_y + 50


def summary(svg, recs, y0):
    """Bars: L0's ticks per exit reason over the whole trace."""
    by = {}
    for r in recs:
        # tsc_resume 0: the monitor never resumed after it (the run ended
        # there, or the dump ran inside it): an exit without a cost.
        tot, n = by.get(r.name, (0, 0))
        by[r.name] = (tot + (r.cost if r.tsc_resume else 0), n + 1)
    total = sum(t for t, _ in by.values()) or 1
    rows = sorted(by.items(), key=lambda kv: (-kv[1][0], kv[0]))
    left, right = 190, svg.width - 340
    peak = rows[0][1][0] or 1 if rows else 1
    svg.text(20, y0 + 12, "Where L0's time goes: ticks in the monitor by exit reason, %d records, %s ticks"
             % (len(recs), fmt(total)), size=15, weight="bold")
    svg.add('<g id="reasons">')
    y = y0 + 30
    for name, (ticks, n) in rows:
        w = (right - left) * ticks / float(peak or 1)
        svg.add('<g class="reason" data-reason="%s">' % escape(name))
        svg.text(left - 8, y + 13, name, size=12, anchor="end")
        svg.rect(left, y, w, 18, COLOURS[0], "%s: %d exits, %s ticks" % (name, n, fmt(ticks)))
        svg.text(left + w + 6, y + 13, "%s ticks (%.1f%%): %d exits, %s each"
                 % (fmt(ticks), 100.0 * ticks / total, n, fmt(ticks // n)), size=11)
        svg.add("</g>")
        y += 24
    svg.add("</g>")
    return y + 10


def main():
    ap = argparse.ArgumentParser(description="Draw nestvisor's exit trace (docs/trace.md) as SVG.")
    ap.add_argument("log", help="serial log with a trace dump")
    ap.add_argument("-o", "--out", default="build/trace.svg", help="SVG to write (default build/trace.svg)")
    ap.add_argument("--seq", type=int, help="record number of the reflected L2 exit to draw")
    a = ap.parse_args()

    recs = read_log(a.log)
    if not recs:
        sys.exit("trace-svg.py: %s: no trace records (was the run booted with trace = on?)" % a.log)
    path = choose(recs, a.seq)
    if not path:
        which = "record %d is not" % a.seq if a.seq is not None else "found no"
        sys.exit("trace-svg.py: %s: %s reflected L2 exit with a complete path back to L2" % (a.log, which))

    svg = Svg(1000)
    y = timeline(svg, path, 10)
    y = summary(svg, recs, y + 10)
    out = a.out
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(svg.render(int(y)))
    first, last = path[0], path[-1]
    print("trace-svg.py: %s: %d records; drew record %d (%s reflected, back in L2 after %s ticks) -> %s"
          % (a.log, len(recs), first.seq, first.name, fmt(last.tsc_resume - first.tsc_exit), out))


if __name__ == "__main__":
    main()
