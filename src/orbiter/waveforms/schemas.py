"""Waveform request and response bodies. Times are integers in the file's `timescale`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_POINTS = 1000
MAX_POINTS = 10_000  # the most value changes one signal query returns


class WaveformRead(BaseModel):
    id: uuid.UUID
    name: str
    format: str = Field(description="`vcd`, `fst` or `ghw`")
    size: int = Field(description="Bytes of the original file")
    timescale: str | None = Field(description="One time unit of the file, e.g. `1ps`")
    start_time: int | None = Field(description="First value change, in `timescale` units")
    end_time: int | None = Field(description="Last value change, in `timescale` units")
    signal_count: int
    project_id: uuid.UUID | None
    sha256: str = Field(description="SHA-256 of the original file")
    created_at: datetime


class SignalInfo(BaseModel):
    name: str
    path: str = Field(description="Scope names and the signal's name joined by `.`")
    width: int | None = Field(description="Bits")
    type: str = Field(description="Wire, Reg, Integer, Real, StdLogicVector...")
    direction: str


class ScopeInfo(BaseModel):
    name: str
    path: str
    type: str = Field(description="module, function, vhdl_architecture...")
    scopes: list[ScopeInfo]
    signals: list[SignalInfo]


class Hierarchy(BaseModel):
    scopes: list[ScopeInfo]
    signals: list[SignalInfo] = Field(description="Signals outside any scope")


class WaveformDetail(WaveformRead):
    hierarchy: Hierarchy


class ValueChange(BaseModel):
    time: int
    value: str | float | None = Field(
        description="Bit vectors as binary strings of their width (`0101`, `x`, `uuuu`); "
        "reals as numbers; strings as they are"
    )


class SignalValues(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    signal: SignalInfo
    timescale: str | None
    from_: int = Field(alias="from")
    to: int
    value_at_from: str | float | None = Field(
        description="The value in effect at `from` (null when none was recorded yet)"
    )
    changes: list[ValueChange]
    change_count: int = Field(description="Value changes in the window before down-sampling")
    downsampled: bool = Field(
        description="More than `max_points` changes: the window was cut into max_points / 2 "
        "equal spans and each span with changes kept its first and last change"
    )
    max_points: int
