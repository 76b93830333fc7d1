"""Reading VCD, FST and GHW files with pywellen (the Python binding of wellen). Blocking:
callers run these functions in a worker thread, never on the event loop.

Times are integers in the file's own timescale (`timescale`, e.g. "1ps"): a change at time
50 in a "1ns" file happened at 50 ns.

A signal's path is its scope names and its own name joined by "." (`top.cpu.pc`), the full
name wellen gives it; "/" is accepted as the separator too (`top/cpu/pc`), so a path can be
written either way in a URL.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pywellen

FORMATS = {"VCD": "vcd", "FST": "fst", "GHW": "ghw"}
UNKNOWN_FORMAT = "unknown file format"  # wellen's message for bytes it does not recognise


class NotAWaveform(Exception):
    """The bytes are in none of the formats wellen reads."""


class BrokenWaveform(Exception):
    """A VCD, FST or GHW file that does not parse."""


@dataclass(frozen=True)
class Summary:
    format: str
    timescale: str | None
    start_time: int | None
    end_time: int | None
    signal_count: int
    hierarchy: dict[str, Any]


def open_waveform(path: Path) -> pywellen.Waveform:
    """The parsed file (header and hierarchy; values load per signal when first read)."""
    try:
        return pywellen.Waveform(str(path))
    except BaseException as exc:  # wellen reports errors as RuntimeError, or a Rust panic
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        message = str(exc) or type(exc).__name__
        if UNKNOWN_FORMAT in message.lower():
            raise NotAWaveform(message) from exc
        raise BrokenWaveform(message) from exc


def summarize(waveform: pywellen.Waveform) -> Summary:
    """Format, timescale, time range and hierarchy; reads every signal once (the time range)."""
    try:
        variables = list(waveform.all_vars())
        start, end = _time_range(variables)
        return Summary(
            format=FORMATS.get(str(waveform.file_format), str(waveform.file_format).lower()),
            timescale=_timescale(waveform),
            start_time=start,
            end_time=end,
            signal_count=len(variables),
            hierarchy={
                "scopes": [_scope(s) for s in waveform.scopes()],
                "signals": [_signal(v) for v in waveform.vars()],
            },
        )
    except BaseException as exc:  # a body that fails to decode while its signals load
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise BrokenWaveform(str(exc) or type(exc).__name__) from exc


def _timescale(waveform: pywellen.Waveform) -> str | None:
    scale = waveform.timescale
    return None if scale is None else f"{scale.factor}{scale.unit}"


def _time_range(variables: Iterable[pywellen.Var]) -> tuple[int | None, int | None]:
    start: int | None = None
    end: int | None = None
    for variable in variables:
        signal = variable.signal
        if len(signal):
            first, last = signal[0][0], signal[len(signal) - 1][0]
            start = first if start is None else min(start, first)
            end = last if end is None else max(end, last)
    return start, end


def _scope(scope: Any) -> dict[str, Any]:
    return {
        "name": scope.name,
        "path": scope.full_name,
        "type": str(scope.scope_type),
        "scopes": [_scope(s) for s in scope.scopes()],
        "signals": [_signal(v) for v in scope.vars()],
    }


def _signal(variable: pywellen.Var) -> dict[str, Any]:
    return {
        "name": variable.name,
        "path": variable.full_name,
        "width": variable.bitwidth,
        "type": str(variable.var_type),
        "direction": str(variable.direction),
    }


# ---------------------------------------------------------------- one signal over a window


@dataclass(frozen=True)
class Change:
    time: int
    value: str | float | None


@dataclass(frozen=True)
class Window:
    signal: dict[str, Any]
    start: int
    end: int
    value_at_start: str | float | None
    changes: list[Change]
    change_count: int  # value changes in [start, end], before any down-sampling
    downsampled: bool


def find_signal(waveform: pywellen.Waveform, path: str) -> pywellen.Var | None:
    """The variable at `path` ("." or "/" between scope names), or None."""
    wanted = {path, path.replace("/", ".")}
    for variable in waveform.all_vars():
        if variable.full_name in wanted:
            return variable
    return None


def window(variable: pywellen.Var, *, start: int, end: int, max_points: int) -> Window:
    """The changes of `variable` with start <= time <= end and the value in effect at `start`.

    More than `max_points` changes are down-sampled: the window is cut into max_points // 2
    equal spans of time and each span that has changes keeps its first and its last one, so
    every span where the signal moved still shows a transition and the value it ends with.
    """
    signal = variable.signal
    first = bisect.bisect_left(signal, start, key=_time)
    stop = bisect.bisect_right(signal, end, key=_time)
    before = bisect.bisect_right(signal, start, key=_time) - 1
    count = max(0, stop - first)
    picked = (
        range(first, stop)
        if count <= max_points
        else _spans(signal, first, stop, start, end, max_points)
    )
    return Window(
        signal=_signal(variable),
        start=start,
        end=end,
        value_at_start=_value(variable, signal[before][1]) if before >= 0 else None,
        changes=[_change(variable, signal[i]) for i in picked],
        change_count=count,
        downsampled=count > max_points,
    )


def _spans(
    signal: pywellen.Signal, first: int, stop: int, start: int, end: int, max_points: int
) -> list[int]:
    spans = max(1, max_points // 2)
    width = max(1, -(-(end - start + 1) // spans))  # ceil: the last span ends at `end`
    picked: list[int] = []
    low = first
    for number in range(1, spans + 1):
        high = bisect.bisect_left(signal, start + number * width, lo=low, hi=stop, key=_time)
        if high > low:
            picked.append(low)
            if high - 1 > low:
                picked.append(high - 1)
        low = high
        if low >= stop:
            break
    return picked


def _time(change: tuple[int, Any]) -> int:
    return int(change[0])


def _change(variable: pywellen.Var, change: tuple[int, Any]) -> Change:
    return Change(time=int(change[0]), value=_value(variable, change[1]))


def _value(variable: pywellen.Var, value: Any) -> str | float | None:
    """Bit vectors as binary strings of their width ("0101", "x", "uuuu"); reals as numbers;
    strings as they are."""
    if value is None:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int) and not variable.is_real:
        width = variable.bitwidth or 1
        return format(value, f"0{width}b")
    return str(value)
