"""Seeded simulation of the shop: request trees of spans, and the log records they write.

One ``random.Random`` per stream (traces, incidents, the incidents' queue waits, metrics) seeded
from ``--seed``, so the same seed gives the same spans, logs and metrics whatever the sink or
encoding. Times are integers in nanoseconds; a child span always lies inside its parent, except
the asynchronous CONSUMER span of a Kafka message, which starts after its PRODUCER span ends.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from otellake.generate.shop import (
    CLIENT,
    CONSUMER,
    INTERNAL,
    PRODUCER,
    PRODUCT_IDS,
    SERVER,
    Failure,
    Operation,
    Scope,
    Shop,
    Step,
)

MS = 1_000_000
NET_MU, NET_SIGMA = math.log(0.25), 0.5  # one network hop, ms
GAP_MS = 0.05  # between two sequential steps of a handler
STAGGER_NS = 20_000  # between the calls of a parallel fan-out
QUEUE_MU, QUEUE_SIGMA = math.log(15.0), 0.8  # Kafka: PRODUCER end -> CONSUMER start, ms
# A latency incident: the service's own work is this many times slower, and each request it
# serves first waits for a worker, lognormal around this median (ms). The wait is what makes
# the incident visible at the request level whichever service it hits: 5x of a 0.25 ms
# handler (cart, currency) is still less than the usual tail of recommendation's ranking.
INCIDENT_SLOWDOWN = 5.0
INCIDENT_WAIT_MS, INCIDENT_WAIT_SIGMA = 25.0, 0.5

UNSET, ERROR = 0, 2
DEBUG, INFO, WARN, SEVERE = 5, 9, 13, 17  # OTLP severity numbers
SEVERITY_TEXT = {DEBUG: "DEBUG", INFO: "INFO", WARN: "WARN", SEVERE: "ERROR"}
GRPC_CODE_NAMES = {
    0: "OK",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    9: "FAILED_PRECONDITION",
    13: "INTERNAL",
    14: "UNAVAILABLE",
}


class SimSpan:
    """One simulated span (times in ns since the epoch)."""

    __slots__ = (
        "code",
        "end",
        "exception",
        "extra",
        "failed",
        "message",
        "op",
        "parent_id",
        "resource",
        "span_id",
        "start",
        "status",
        "trace_id",
    )

    def __init__(
        self,
        trace_id: bytes,
        span_id: bytes,
        parent_id: bytes,
        op: Operation,
        resource: int,
        start: int,
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.op = op
        self.resource = resource
        self.start = start
        self.end = start
        self.status = UNSET
        self.message = ""
        self.code: int | None = None  # HTTP status or gRPC status code
        self.extra: tuple[tuple[str, Any], ...] = ()  # variable attributes besides the code
        self.exception: tuple[str, str, str, int] | None = None  # type, message, stack, time
        self.failed = False  # what the caller sees: an error or an HTTP 5xx

    def attributes(self) -> list[tuple[str, Any]]:
        """Every attribute of the span, constant ones first."""
        attrs = list(self.op.attributes)
        attrs.extend(self.extra)
        if self.code is not None and self.op.status_key is not None:
            attrs.append((self.op.status_key, self.code))
        return attrs


class SimLog:
    """One simulated log record."""

    __slots__ = (
        "attributes",
        "body",
        "observed",
        "resource",
        "scope",
        "severity",
        "span_id",
        "time",
        "trace_id",
    )

    def __init__(
        self,
        time: int,
        observed: int,
        severity: int,
        body: str,
        attributes: tuple[tuple[str, Any], ...],
        trace_id: bytes,
        span_id: bytes,
        resource: int,
        scope: Scope,
    ) -> None:
        self.time = time
        self.observed = observed
        self.severity = severity
        self.body = body
        self.attributes = attributes
        self.trace_id = trace_id
        self.span_id = span_id
        self.resource = resource
        self.scope = scope


@dataclass(frozen=True)
class Plan:
    """What to generate: ``spans`` spans whose requests start in [start, start + duration)."""

    start_ns: int
    duration_ns: int
    spans: int


@dataclass(frozen=True)
class Incident:
    """For requests arriving in [start_ns, end_ns) a service is slower or fails more."""

    service: str
    kind: str  # "latency" or "errors"
    start_ns: int
    end_ns: int
    latency_multiplier: float = 1.0  # of the service's own work (its handlers and leaves)
    wait_ms: float = 0.0  # median wait for a worker before each of its handlers runs
    error_rate: float = 0.0


def schedule_incidents(seed: int, plan: Plan) -> list[Incident]:
    """Two incidents at fixed fractions of the run, on services drawn from the seed.

    Windows are whole seconds; an incident whose window rounds to nothing is left out.
    """
    rng = random.Random(f"{seed}:incidents")
    slow = rng.choice(["product-catalog", "cart", "currency", "recommendation"])
    failing = rng.choice(["payment", "shipping", "cart"])

    def window(a: float, b: float) -> tuple[int, int]:
        second = 1_000_000_000
        lo = (plan.start_ns + int(plan.duration_ns * a)) // second * second
        hi = (plan.start_ns + int(plan.duration_ns * b)) // second * second
        return lo, hi

    incidents = []
    lo, hi = window(0.40, 0.55)
    if hi > lo:
        incidents.append(
            Incident(
                slow,
                "latency",
                lo,
                hi,
                latency_multiplier=INCIDENT_SLOWDOWN,
                wait_ms=INCIDENT_WAIT_MS,
            )
        )
    lo, hi = window(0.70, 0.80)
    if hi > lo:
        incidents.append(Incident(failing, "errors", lo, hi, error_rate=0.3))
    return incidents


class _Fields(dict[str, Any]):
    """Template fields drawn only when a template uses them."""

    def __init__(self, sim: Simulator, **known: Any) -> None:
        super().__init__(known)
        self.sim = sim

    def __missing__(self, key: str) -> Any:
        rng = self.sim.rng
        if key == "uuid":
            value: Any = self.sim.uuid()
        elif key == "hex16":
            value = f"{rng.getrandbits(64):016x}"
        elif key == "hex8":
            value = f"{rng.getrandbits(32):08X}"
        elif key == "n":
            value = rng.randrange(1, 100_000)
        elif key == "amount":
            value = f"{rng.randrange(5, 900)}.{rng.randrange(100):02d}"
        elif key == "card":
            value = f"{rng.randrange(10_000):04d}"
        elif key == "items":
            value = rng.randrange(1, 6)
        elif key == "ip":
            value = f"10.42.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        elif key == "port":
            value = rng.randrange(32768, 61000)
        else:
            raise KeyError(key)
        self[key] = value
        return value


class Simulator:
    """Draws traces (and their logs) for a plan, in order of request arrival."""

    def __init__(self, shop: Shop, seed: int, plan: Plan, incidents: list[Incident]) -> None:
        self.shop = shop
        self.plan = plan
        self.incidents = incidents
        self.rng = random.Random(f"{seed}:traces")
        # the incidents' waits draw from a stream of their own, none from the traces'
        self._wait_rng = random.Random(f"{seed}:waits")
        total = sum(weight for _, weight in shop.requests)
        self._entries = [op for op, _ in shop.requests]
        self._cum_weights = list(itertools.accumulate(w / total for _, w in shop.requests))
        self._instances = {s: [r.index for r in rs] for s, rs in shop.by_service.items()}
        # the current request's incident effects
        self._slow: dict[str, Incident] = {}
        self._failing: dict[str, float] = {}

    # ---- ids and random values ------------------------------------------------------------

    def _id(self, nbytes: int) -> bytes:
        while True:
            value = self.rng.getrandbits(nbytes * 8)
            if value:
                return value.to_bytes(nbytes, "big")

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def _lognormal_ns(self, mu: float, sigma: float, multiplier: float = 1.0) -> int:
        return int(math.exp(self.rng.gauss(mu, sigma)) * MS * multiplier) + 1

    def _slowdown(self, service: str) -> float:
        incident = self._slow.get(service)
        return incident.latency_multiplier if incident is not None else 1.0

    def _wait_ns(self, service: str) -> int:
        """How long a request to ``service`` waits for a worker (0 but in its latency
        incident)."""
        incident = self._slow.get(service)
        if incident is None or not incident.wait_ms:
            return 0
        draw = self._wait_rng.gauss(math.log(incident.wait_ms), INCIDENT_WAIT_SIGMA)
        return int(math.exp(draw) * MS)

    def _instance(self, service: str) -> int:
        instances = self._instances[service]
        return instances[0] if len(instances) == 1 else self.rng.choice(instances)

    # ---- the run --------------------------------------------------------------------------

    def traces(self) -> Iterator[tuple[list[SimSpan], list[SimLog]]]:
        """Each request's spans (pre-order: a parent before its children) and logs.

        Request i starts at a time proportional to the spans emitted before it, so spans
        arrive at an even rate over the plan; the last request is cut to give exactly
        ``plan.spans`` spans (a pre-order prefix keeps every kept span's parent).
        """
        plan, rng = self.plan, self.rng
        emitted = 0
        while emitted < plan.spans:
            t0 = plan.start_ns + int(plan.duration_ns * (emitted + rng.random()) / plan.spans)
            spans = self.trace(t0)
            if emitted + len(spans) > plan.spans:
                spans = spans[: plan.spans - emitted]
            emitted += len(spans)
            yield spans, self.logs(spans)

    def trace(self, t0: int) -> list[SimSpan]:
        self._slow.clear()
        self._failing.clear()
        for incident in self.incidents:
            if incident.start_ns <= t0 < incident.end_ns:
                if incident.kind == "latency":
                    self._slow[incident.service] = incident
                else:
                    self._failing[incident.service] = incident.error_rate
        entry = self.rng.choices(self._entries, cum_weights=self._cum_weights)[0]
        spans: list[SimSpan] = []
        self._server(entry, self._id(16), b"", t0, spans)
        return spans

    def _server(
        self, op: Operation, trace_id: bytes, parent: bytes, start: int, spans: list[SimSpan]
    ) -> SimSpan:
        """A SERVER or CONSUMER span and everything its handler calls."""
        rng = self.rng
        span = SimSpan(trace_id, self._id(8), parent, op, self._instance(op.service), start)
        spans.append(span)
        work = self._lognormal_ns(op.mu, op.sigma, self._slowdown(op.service))
        before = int(work * (0.2 + 0.6 * rng.random()))
        t = start + self._wait_ns(op.service) + before
        failed_child: SimSpan | None = None
        for step in op.steps:
            if step.probability < 1.0 and rng.random() >= step.probability:
                continue
            lo, hi = step.times
            n = lo if lo == hi else rng.randint(lo, hi)
            failed: SimSpan | None = None
            if step.parallel:
                end = t
                for i in range(n):
                    child = self._call(step, span, t + i * STAGGER_NS, spans)
                    end = max(end, child.end)
                    if child.failed and failed is None:
                        failed = child
                t = end
            else:
                for _ in range(n):
                    child = self._call(step, span, t, spans)
                    t = child.end
                    if child.failed and failed is None:
                        failed = child
            t += int(GAP_MS * MS * rng.random())
            if failed is not None and rng.random() < op.propagate:
                failed_child = failed
                break
        span.end = t + (work - before)
        self._outcome(span, failed_child)
        return span

    def _call(self, step: Step, caller: SimSpan, start: int, spans: list[SimSpan]) -> SimSpan:
        """One step: a remote call (CLIENT span around the callee's SERVER span) or a leaf."""
        target = step.target
        if step.client is None:
            return self._leaf(target, caller, start, spans)
        client = SimSpan(
            caller.trace_id, self._id(8), caller.span_id, step.client, caller.resource, start
        )
        spans.append(client)
        hop = self._lognormal_ns(NET_MU, NET_SIGMA)
        server = self._server(target, caller.trace_id, client.span_id, start + hop, spans)
        client.end = server.end + self._lognormal_ns(NET_MU, NET_SIGMA)
        client.code = server.code
        if server.failed:
            client.failed = True
            client.status = ERROR
            if target.protocol == "http":
                client.message = f"HTTP {server.code}"
            else:
                client.message = server.message or GRPC_CODE_NAMES.get(server.code or 2, "UNKNOWN")
        return client

    def _leaf(self, op: Operation, caller: SimSpan, start: int, spans: list[SimSpan]) -> SimSpan:
        """A database, cache, internal or PRODUCER span of the caller's service."""
        span = SimSpan(caller.trace_id, self._id(8), caller.span_id, op, caller.resource, start)
        spans.append(span)
        span.end = start + self._lognormal_ns(op.mu, op.sigma, self._slowdown(op.service))
        if op.kind == CLIENT and op.error_rate and self.rng.random() < op.error_rate:
            assert op.failure is not None
            self._fail(span, op.failure, origin=True)
        if op.kind == PRODUCER:
            # the message is consumed later, by another service, in the same trace
            for step in op.steps:
                queued = self._lognormal_ns(QUEUE_MU, QUEUE_SIGMA)
                self._server(step.target, caller.trace_id, span.span_id, span.end + queued, spans)
        return span

    def _outcome(self, span: SimSpan, failed_child: SimSpan | None) -> None:
        """Status, status code and exception of a finished SERVER or CONSUMER span."""
        op, rng = span.op, self.rng
        if failed_child is None:
            rate = max(op.error_rate, self._failing.get(op.service, 0.0))
            if rate and rng.random() < rate:
                self._fail(span, op.failure or _GENERIC, origin=True)
                return
            if op.protocol == "http":
                if op.client_error_rate and rng.random() < op.client_error_rate:
                    span.code = op.client_error_code
                else:
                    span.code = 200
            elif op.protocol == "grpc":
                span.code = 0
            if op.product_path:
                span.extra = (("url.path", f"/api/products/{rng.choice(PRODUCT_IDS)}"),)
            return
        self._fail(span, op.failure or _GENERIC, origin=False, cause=failed_child)
        if op.product_path:
            span.extra = (("url.path", f"/api/products/{rng.choice(PRODUCT_IDS)}"),)

    def _fail(
        self, span: SimSpan, failure: Failure, origin: bool, cause: SimSpan | None = None
    ) -> None:
        op, rng = span.op, self.rng
        span.failed = True
        if op.protocol == "http":
            span.code = failure.http_code if origin or not failure.status_error else 502
        elif op.protocol == "grpc":
            span.code = failure.grpc_code if origin else _grpc_code_of(cause)
        if not failure.status_error:
            return  # e.g. an HTTP 503 that the instrumentation leaves UNSET
        span.status = ERROR
        fields = _Fields(self, ms=f"{(span.end - span.start) / MS:.1f}")
        if origin:
            exc_type = failure.exception_type
            message = failure.message.format_map(fields)
        else:
            assert cause is not None
            exc_type = failure.exception_type if failure.exception_type else "UpstreamError"
            message = f"{cause.op.name} failed: {cause.message or f'status {cause.code}'}"
        span.message = message
        frames = "\n".join(failure.frames).format_map(fields) if failure.frames else ""
        stack = f"{exc_type}: {message}\n{frames}" if frames else f"{exc_type}: {message}"
        at = span.end - int((span.end - span.start) * 0.1 * rng.random())
        span.exception = (exc_type, message, stack, at)

    # ---- logs -----------------------------------------------------------------------------

    def logs(self, spans: list[SimSpan]) -> list[SimLog]:
        """The log records a request's spans write, each with its trace and span id."""
        rng = self.rng
        out: list[SimLog] = []
        for span in spans:
            op = span.op
            scope = op.log_scope
            assert scope is not None
            duration = span.end - span.start

            log = functools.partial(self._log, out, span, scope)

            if span.exception is not None:
                exc_type, message, _stack, thrown = span.exception
                log(SEVERE, f"{op.name} failed: {message}", (("exception.type", exc_type),), thrown)
                continue
            code = span.code
            if op.kind == SERVER and op.protocol == "http" and code is not None and code >= 400:
                path = dict(span.extra).get("url.path", dict(op.attributes).get("http.route"))
                reason = "upstream unavailable" if code >= 500 else "rejected"
                log(
                    WARN,
                    f'{op.name} returned {code} ({reason}) for path "{path}" after '
                    f"{duration / MS:.3f} ms",
                )
            if duration > op.slow_ms * MS:
                log(
                    WARN,
                    f"slow request: {op.name} took {duration / MS:.1f} ms "
                    f"(threshold {op.slow_ms:.0f} ms) trace_id={span.trace_id.hex()}",
                )
            if op.info_log and rng.random() < op.info_log:
                fields = _Fields(
                    self,
                    name=op.name,
                    ms=f"{duration / MS:.3f}",
                    method=dict(op.attributes).get("http.request.method", ""),
                    path=dict(span.extra).get("url.path", dict(op.attributes).get("url.path")),
                    status=code,
                )
                log(INFO, op.log_template.format_map(fields))
            elif op.protocol in ("db", "cache") and rng.random() < 0.02:
                log(
                    DEBUG,
                    f"{op.name} took {duration / MS:.3f} ms rows={rng.randrange(0, 60)} "
                    f'key="{op.service}:{rng.getrandbits(48):012x}"',
                )
            elif op.kind == INTERNAL and rng.random() < 0.05:
                log(
                    DEBUG,
                    f"{op.name} done in {duration / MS:.3f} ms ({rng.randrange(1, 50)} items)",
                )
        return out

    def _log(
        self,
        out: list[SimLog],
        span: SimSpan,
        scope: Scope,
        severity: int,
        body: str,
        attrs: tuple[tuple[str, Any], ...] = (),
        at: int | None = None,
    ) -> None:
        """A record written while ``span`` ran (at ``at``, else in its second half), observed a
        little later."""
        rng = self.rng
        if at is None:
            at = span.start + int((span.end - span.start) * (0.5 + 0.5 * rng.random()))
        observed = at + rng.randrange(200_000, 5 * MS)
        out.append(
            SimLog(
                at,
                observed,
                severity,
                body,
                attrs,
                span.trace_id,
                span.span_id,
                span.resource,
                scope,
            )
        )


def _grpc_code_of(cause: SimSpan | None) -> int:
    """The gRPC status a server answers when a call it made failed."""
    if cause is not None and cause.op.protocol == "grpc" and cause.code:
        return cause.code
    if cause is not None and cause.code == 503:
        return 14  # UNAVAILABLE
    return 13  # INTERNAL


_GENERIC = Failure(
    "UpstreamError",
    'upstream call failed after {ms} ms (request_id="{uuid}")',
    (),
)

__all__ = [
    "CONSUMER",
    "ERROR",
    "SERVER",
    "Incident",
    "Plan",
    "SimLog",
    "SimSpan",
    "Simulator",
    "schedule_incidents",
]
