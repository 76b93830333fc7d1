"""The baseline for bench/http_overhead.py: a bare FastAPI app with one JSON route."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
