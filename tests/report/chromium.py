"""Open a page in headless Chromium (Debian's `chromium`, installed by `make setup`) over the
DevTools protocol: what the console and the network log said, and what the page shows."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket

from otellake.stack.processes import free_port

DEADLINE_S = 60.0
# What the page reports once loaded: its sections and how each image decoded.
PROBE = """JSON.stringify({
  sections: [...document.querySelectorAll('section')].map(s => ({
    id: s.id, text: s.innerText.length, height: s.getBoundingClientRect().height})),
  images: [...document.images].map(i => ({
    id: i.id, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})),
})"""


@dataclass
class Rendered:
    errors: list[str]  # console errors, uncaught exceptions, failed loads
    sections: list[dict[str, Any]]
    images: list[dict[str, Any]]


def _targets(port: int, deadline: float) -> list[dict[str, Any]]:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                return json.load(r)  # type: ignore[no-any-return]
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # polled until Chromium's DevTools endpoint answers


def render(page: Path, profile: Path) -> Rendered:
    binary = shutil.which("chromium")
    assert binary, "chromium is not on PATH: run `make setup` (it installs Debian's chromium)"
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            *("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"),
            f"--remote-debugging-port={port}",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + DEADLINE_S
    try:
        target = next(t for t in _targets(port, deadline) if t["type"] == "page")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=DEADLINE_S)
        errors: list[str] = []
        counter = iter(range(1, 1_000_000))

        def call(method: str, **params: Any) -> int:
            ident = next(counter)
            ws.send(json.dumps({"id": ident, "method": method, "params": params}))
            return ident

        def until(predicate: Any) -> dict[str, Any]:
            while True:
                message = json.loads(ws.recv())
                event, params = message.get("method"), message.get("params", {})
                if event == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                    errors.append(" ".join(str(a.get("value")) for a in params["args"]))
                elif event == "Runtime.exceptionThrown":
                    errors.append(params["exceptionDetails"]["text"])
                elif event == "Log.entryAdded" and params["entry"]["level"] == "error":
                    errors.append(params["entry"]["text"])
                if predicate(message):
                    return message

        for domain in ("Runtime", "Log", "Page"):
            ident = call(f"{domain}.enable")
            until(lambda m, i=ident: m.get("id") == i)
        call("Page.navigate", url=page.resolve().as_uri())
        until(lambda m: m.get("method") == "Page.loadEventFired")
        ident = call("Runtime.evaluate", expression=PROBE, returnByValue=True)
        answer = until(lambda m: m.get("id") == ident)
        ws.close()
        shown = json.loads(answer["result"]["result"]["value"])
        return Rendered(errors, shown["sections"], shown["images"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
