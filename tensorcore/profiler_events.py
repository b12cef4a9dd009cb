"""The profiler's results: FunctionEvent (one timed region), FunctionEventAvg (the events of one key summed),
EventList (key_averages, table in torch's layout, export_chrome_trace), and the chrome trace writer."""

import json
import os
import time

from .atomic import atomic_write
from .errors import ArgumentError, TensorcoreError

_EPOCH_OFFSET_NS = time.time_ns() - time.perf_counter_ns()  # perf_counter_ns -> ns since the epoch

class FunctionEvent:
    """One timed region: name, start/end (ns), thread, input shapes, call stack; times in microseconds."""

    def __init__(self, name, start_ns, end_ns, thread, category="user_annotation", input_shapes=(), stack=()):
        self.name, self.key = name, name
        self.start_ns, self.end_ns, self.thread = start_ns, end_ns, thread
        self.category = category
        self.input_shapes = list(input_shapes)
        self.stack = list(stack)
        self.cpu_parent = None
        self.cpu_children = []

    @property
    def cpu_time_total(self):
        return (self.end_ns - self.start_ns) / 1000.0

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    cpu_time = cpu_time_total
    device_time_total = cuda_time_total = self_device_time_total = self_cuda_time_total = 0.0

    def __repr__(self):
        return f"<FunctionEvent name={self.name!r} cpu_time_total={self.cpu_time_total:.3f}us>"


class FunctionEventAvg:
    """The events of one key (a name; with group_by_input_shape, a name and shapes) summed."""

    def __init__(self, key, input_shapes, stack, top_level):
        self.key, self.input_shapes, self.stack = key, input_shapes, stack
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.device_time_total = self.cuda_time_total = self.self_device_time_total = 0.0
        self.self_cuda_time_total = 0.0
        self.top_level = top_level

    def add(self, event):
        self.count += 1
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    @property
    def self_cpu_time(self):
        return self.self_cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return f"<FunctionEventAvg key={self.key!r} count={self.count} cpu_time_total={self.cpu_time_total:.3f}us>"


_SORT_KEYS = ("cpu_time", "cpu_time_total", "self_cpu_time_total", "self_cpu_time", "count", "device_time_total",
              "cuda_time_total", "self_device_time_total", "self_cuda_time_total")


def _format_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class EventList(list):
    """A list of FunctionEvents (or of FunctionEventAvgs, from key_averages)."""

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        groups = {}
        for e in self:
            name = "ProfilerStep*" if e.name.startswith("ProfilerStep#") else e.name
            shapes = str(e.input_shapes) if group_by_input_shape else ""
            stack = tuple(e.stack[:group_by_stack_n]) if group_by_stack_n else ()
            key = (name, shapes, stack)
            if key not in groups:
                groups[key] = FunctionEventAvg(name, e.input_shapes if group_by_input_shape else [], list(stack),
                                               e.cpu_parent is None)
            groups[key].add(e)
        return EventList(groups.values())

    def total_average(self):
        total = FunctionEventAvg("Total", [], [], True)
        for e in self:
            total.count += getattr(e, "count", 1)
            total.cpu_time_total += e.cpu_time_total
            total.self_cpu_time_total += e.self_cpu_time_total
        return total

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False, time_unit=None):
        """The summary torch prints: self and total CPU time, their shares, the average, the call count."""
        rows = list(self)
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ArgumentError(f"table: sort_by must be one of {_SORT_KEYS}, got {sort_by!r}")
            rows.sort(key=lambda e: getattr(e, sort_by), reverse=True)
        total_self = sum(e.self_cpu_time_total for e in rows) or 1.0
        shown_total = sum(e.self_cpu_time_total for e in rows)
        if top_level_events_only:
            rows = [e for e in rows if (e.top_level if isinstance(e, FunctionEventAvg) else e.cpu_parent is None)]
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        names = [str(e.key)[:max_name_column_width] for e in rows]
        width = max([len("Name")] + [len(n) for n in names]) + 4
        with_shapes = any(e.input_shapes for e in rows)
        columns = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
        widths = [width] + [12] * 6
        if with_shapes:
            columns.append("Input Shapes")
            widths.append(min(max_shapes_column_width, max(len(str(e.input_shapes)) for e in rows) + 2))
        line = "".join("-" * w + "  " for w in widths)
        out = []
        if header:
            out += ["=" * len(line), header]
        if top_level_events_only:
            out += ["=" * len(line), "This report only display top-level ops statistics"]
        out += [line, "".join(f"{c:>{w}}  " for c, w in zip(columns, widths)), line]
        for name, e in zip(names, rows):
            count = getattr(e, "count", 1)
            cells = [name, f"{100 * e.self_cpu_time_total / total_self:.2f}%", _format_time(e.self_cpu_time_total),
                     f"{100 * e.cpu_time_total / total_self:.2f}%", _format_time(e.cpu_time_total),
                     _format_time(e.cpu_time_total / count), str(count)]
            if with_shapes:
                cells.append(str(e.input_shapes)[:widths[-1]])
            out.append("".join(f"{c:>{w}}  " for c, w in zip(cells, widths)))
        out += [line, f"Self CPU time total: {_format_time(shown_total)}", ""]
        return "\n".join(out)

    def export_chrome_trace(self, path):
        _write_trace(self, path, {})


def _link(events):
    """Set each event's cpu_parent / cpu_children: the innermost enclosing event on the same thread."""
    for e in events:
        e.cpu_parent, e.cpu_children = None, []
    by_thread = {}
    for e in sorted(events, key=lambda e: (e.start_ns, -e.end_ns)):
        open_ = by_thread.setdefault(e.thread, [])
        while open_ and open_[-1].end_ns < e.end_ns:
            open_.pop()
        if open_:
            e.cpu_parent = open_[-1]
            open_[-1].cpu_children.append(e)
        open_.append(e)
    return events


def _write_trace(events, path, metadata):
    """A chrome://tracing JSON of the events, written atomically (gzip'ed for a .gz path)."""
    pid = os.getpid()
    trace_events = []
    for e in events:
        args = {}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.stack:
            args["Call stack"] = ";".join(e.stack)
        trace_events.append({"ph": "X", "cat": e.category, "name": e.name, "pid": pid, "tid": e.thread,
                             "ts": (e.start_ns + _EPOCH_OFFSET_NS) / 1000.0, "dur": e.cpu_time_total,
                             "args": args})
    doc = dict(metadata)
    doc.update({"schemaVersion": 1, "deviceProperties": [], "displayTimeUnit": "ms",
                "traceEvents": trace_events, "traceName": str(path)})
    data = json.dumps(doc).encode("utf-8")
    if str(path).endswith(".gz"):
        import gzip

        data = gzip.compress(data)
    try:
        with atomic_write(os.fspath(path)) as f:
            f.write(data)
    except OSError as exc:
        raise TensorcoreError(f"export_chrome_trace: cannot write {path} ({exc})") from exc
