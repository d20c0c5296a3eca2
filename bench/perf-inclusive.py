#!/usr/bin/env python3
"""Summarise `perf script` output (perf record -g): each frame's inclusive and self share of the samples.

usage: perf script -i perf.data | python3 bench/perf-inclusive.py [REGEX] [TOP]
Frames are shortened to the method name; a frame counts once per sample however deep it recurs.
Async frames (MoveNext of state machines) are approximate: a continuation's caller is the thread pool.
"""
import collections
import re
import sys

pattern = re.compile(sys.argv[1]) if len(sys.argv) > 1 else None
top = int(sys.argv[2]) if len(sys.argv) > 2 else 60
inclusive, self_time = collections.Counter(), collections.Counter()
samples = 0
stack = []


def shorten(line):
    name = line.split(None, 1)[1] if ' ' in line else line
    name = re.sub(r'\[(OptimizedTier1|Optimized|Tier0|Tier1|QuickJitted|OptimizedTier1OSR|PreJIT)\]', '', name)
    name = re.sub(r'\(.*$', '', name)
    if '[' in name:
        name = re.sub(r'^(instance |static )?\S+ (\[[^\]]+\] )?', '', name)
    return name.strip()[:150]


def flush():
    global samples
    if not stack:
        return
    samples += 1
    self_time[stack[0]] += 1
    for frame in set(stack):
        inclusive[frame] += 1


for line in sys.stdin:
    if not line.strip():
        flush()
        stack = []
    elif line[0] in ' \t':
        stack.append(shorten(line.strip()))
flush()
print(f"{samples} samples; inclusive % / self %")
shown = 0
for frame, count in inclusive.most_common():
    if pattern and not pattern.search(frame):
        continue
    print(f"{100 * count / samples:6.2f} {100 * self_time[frame] / samples:6.2f}  {frame}")
    shown += 1
    if shown == top:
        break
