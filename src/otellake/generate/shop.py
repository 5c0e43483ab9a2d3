"""The simulated microservice shop: services, their instances, scopes, operations and calls.

Nine services (frontend, checkout, cart, payment, currency, shipping, product-catalog,
recommendation, accounting) talk HTTP, gRPC and Kafka; a PostgreSQL database and a Redis cache
appear only as CLIENT spans of their callers, as they do in real traces. Everything here is
static data: the simulator (``simulate.py``) draws the random parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from otellake.otlp_values import SPAN_KINDS

# OTLP enum values (opentelemetry.proto.trace.v1.Span.SpanKind)
INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
KIND_NAMES = {kind: SPAN_KINDS[kind] for kind in (INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER)}

HTTP_STATUS = "http.response.status_code"
GRPC_STATUS = "rpc.grpc.status_code"

PRODUCT_IDS = (
    "OLJCESPC7Z",
    "66VCHSJNUP",
    "1YMWWN1N4O",
    "L9ECAV7KIM",
    "2ZYFJ3GM2N",
    "0PUK6V6EV0",
    "LS4PSXUNUM",
    "9SIQT8TOJO",
    "6E92ZMYYFZ",
    "HQTGWGPNH4",
)


@dataclass(frozen=True)
class Scope:
    """An instrumentation scope (one tracer / logger / meter)."""

    index: int
    name: str
    version: str


@dataclass(frozen=True)
class Resource:
    """One running instance of a service: the resource its telemetry carries."""

    index: int
    service: str
    attributes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Failure:
    """What an error in an operation looks like: an exception, or only an HTTP status."""

    exception_type: str
    message: str  # a str.format template: {uuid}, {hex16}, {n}, {ms}
    frames: tuple[str, ...]  # stack frames, {n} is a line number
    grpc_code: int = 13
    http_code: int = 500
    status_error: bool = True  # False: a 5xx SERVER span whose status stays UNSET


@dataclass
class Step:
    """One thing a handler does: call ``target`` (through ``client`` when remote) n times."""

    target: Operation
    client: Operation | None = None
    times: tuple[int, int] = (1, 1)
    parallel: bool = False
    probability: float = 1.0


@dataclass
class Operation:
    """A span template: name, kind, scope, constant attributes, latency and errors."""

    index: int
    service: str
    name: str
    kind: int
    scope: Scope
    protocol: str  # http, grpc, db, cache, messaging, internal
    attributes: tuple[tuple[str, Any], ...]
    median_ms: float
    sigma: float
    error_rate: float = 0.0
    failure: Failure | None = None
    steps: list[Step] = field(default_factory=list)
    propagate: float = 0.8  # chance that a failed call fails this operation too
    status_key: str | None = None  # HTTP_STATUS or GRPC_STATUS, set on every span
    client_error_rate: float = 0.0  # HTTP 4xx answers (not errors)
    client_error_code: int = 404
    info_log: float = 0.0  # chance of an INFO log per span
    log_template: str = ""
    slow_ms: float = math.inf  # WARN log above this duration
    product_path: bool = False  # url.path carries a product id
    log_scope: Scope | None = None

    @cached_property
    def mu(self) -> float:
        """The lognormal's mu: its median is ``median_ms``."""
        return math.log(self.median_ms)


@dataclass
class Shop:
    services: dict[str, dict[str, Any]]
    resources: list[Resource]
    by_service: dict[str, list[Resource]]
    scopes: list[Scope]
    operations: list[Operation]
    requests: list[tuple[Operation, float]]  # entry operations and their weights
    runtime_scopes: dict[str, Scope]  # service -> scope of its runtime metrics and logs


# service -> language, version, instances, listening port
SERVICES: dict[str, dict[str, Any]] = {
    "frontend": {"lang": "nodejs", "version": "2.4.1", "instances": 2, "port": 8080},
    "checkout": {"lang": "go", "version": "1.9.0", "instances": 1, "port": 5050},
    "cart": {"lang": "dotnet", "version": "3.2.7", "instances": 2, "port": 7070},
    "payment": {"lang": "nodejs", "version": "1.4.2", "instances": 1, "port": 50051},
    "currency": {"lang": "cpp", "version": "1.1.0", "instances": 1, "port": 7001},
    "shipping": {"lang": "rust", "version": "0.8.3", "instances": 1, "port": 50050},
    "product-catalog": {"lang": "go", "version": "2.0.5", "instances": 2, "port": 3550},
    "recommendation": {"lang": "python", "version": "1.6.0", "instances": 1, "port": 9001},
    "accounting": {"lang": "dotnet", "version": "1.0.3", "instances": 1, "port": 0},
}

# (language, protocol) -> (instrumentation scope name, version)
SCOPES: dict[tuple[str, str], tuple[str, str]] = {
    ("nodejs", "http"): ("@opentelemetry/instrumentation-http", "0.57.2"),
    ("nodejs", "grpc"): ("@opentelemetry/instrumentation-grpc", "0.57.2"),
    ("nodejs", "internal"): ("{service}", "{version}"),
    ("go", "grpc"): (
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
        "0.61.0",
    ),
    ("go", "http"): ("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.61.0"),
    ("go", "db"): ("github.com/exaring/otelpgx", "0.9.3"),
    ("go", "cache"): ("github.com/redis/go-redis/extra/redisotel", "9.7.3"),
    ("go", "messaging"): ("github.com/IBM/sarama/otelsarama", "0.61.0"),
    ("go", "internal"): ("{service}", "{version}"),
    ("dotnet", "grpc"): ("OpenTelemetry.Instrumentation.AspNetCore", "1.12.0"),
    ("dotnet", "cache"): ("OpenTelemetry.Instrumentation.StackExchangeRedis", "1.12.0-beta.1"),
    ("dotnet", "db"): ("Npgsql", "9.0.3"),
    ("dotnet", "messaging"): ("Confluent.Kafka.Extensions.OpenTelemetry", "0.4.0"),
    ("dotnet", "internal"): ("{service}", "{version}"),
    ("cpp", "grpc"): ("currency", "{version}"),
    ("cpp", "internal"): ("currency", "{version}"),
    ("rust", "http"): ("opentelemetry-http", "0.29.0"),
    ("rust", "db"): ("sqlx", "0.8.5"),
    ("rust", "internal"): ("shipping", "{version}"),
    ("python", "grpc"): ("opentelemetry.instrumentation.grpc", "0.54b1"),
    ("python", "cache"): ("opentelemetry.instrumentation.redis", "0.54b1"),
    ("python", "internal"): ("recommendation", "{version}"),
}

NODE_FRAMES = (
    "    at {fn} (/usr/src/app/{file}.js:{n}:17)",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
    "    at async Server.handler (/usr/src/app/server.js:{n}:9)",
)
GO_FRAMES = (
    "goroutine {n} [running]:",
    "main.(*{fn}).{method}(0xc000{hex16})",
    "\t/usr/src/app/{file}.go:{n} +0x1f4",
    "google.golang.org/grpc.(*Server).processUnaryRPC(0xc0001b6000)",
    "\t/go/pkg/mod/google.golang.org/grpc@v1.71.0/server.go:1405 +0xfb7",
)
DOTNET_FRAMES = (
    "   at {fn}.{method}() in /app/src/{file}.cs:line {n}",
    "   at Grpc.AspNetCore.Server.Internal.CallHandlers.UnaryServerCallHandler.HandleCallAsyncCore()",  # noqa: E501
)
PY_FRAMES = (
    "Traceback (most recent call last):",
    '  File "/app/{file}.py", line {n}, in {method}',
    '  File "/usr/local/lib/python3.12/site-packages/grpc/_channel.py", line 1181, in __call__',
)
CPP_FRAMES = ("#0 0x00005{hex16} in {fn}::{method}() at /app/src/{file}.cpp:{n}",)


def _scope(lang: str, protocol: str, service: str) -> tuple[str, str]:
    name, version = SCOPES.get((lang, protocol)) or SCOPES[(lang, "internal")]
    v = SERVICES[service]["version"]
    return name.format(service=service, version=v), version.format(service=service, version=v)


def build_shop() -> Shop:
    """The shop's static model (the same every time: randomness lives in the simulator)."""
    scopes: dict[tuple[str, str], Scope] = {}
    operations: list[Operation] = []

    def scope(name: str, version: str) -> Scope:
        key = (name, version)
        if key not in scopes:
            scopes[key] = Scope(len(scopes), name, version)
        return scopes[key]

    def op(
        service: str,
        name: str,
        kind: int,
        protocol: str,
        attributes: dict[str, Any],
        median_ms: float,
        sigma: float,
        **options: Any,
    ) -> Operation:
        lang = SERVICES[service]["lang"]
        operation = Operation(
            index=len(operations),
            service=service,
            name=name,
            kind=kind,
            scope=scope(*_scope(lang, protocol, service)),
            protocol=protocol,
            attributes=tuple(attributes.items()),
            median_ms=median_ms,
            sigma=sigma,
            log_scope=scope(f"{service}.{_LOGGERS[protocol]}", ""),
            **options,
        )
        operations.append(operation)
        return operation

    def grpc_server(
        service: str, rpc_service: str, method: str, median_ms: float, **options: Any
    ) -> Operation:
        attributes = {
            "rpc.system": "grpc",
            "rpc.service": f"oteldemo.{rpc_service}",
            "rpc.method": method,
            "server.address": service,
            "server.port": SERVICES[service]["port"],
        }
        options.setdefault("info_log", 0.25)
        options.setdefault(
            "log_template",
            'handled {name} in {ms} ms, peer={ip}:{port} request_id="{uuid}"',
        )
        return op(
            service,
            f"oteldemo.{rpc_service}/{method}",
            SERVER,
            "grpc",
            attributes,
            median_ms,
            options.pop("sigma", 0.5),
            status_key=GRPC_STATUS,
            **options,
        )

    clients: dict[tuple[str, int], Operation] = {}

    def grpc_client(caller: str, server: Operation) -> Operation:
        if (caller, server.index) in clients:
            return clients[(caller, server.index)]
        attributes = {k: v for k, v in server.attributes if k.startswith(("rpc.", "server."))}
        client = op(
            caller, server.name, CLIENT, "grpc", attributes, 0.3, 0.5, status_key=GRPC_STATUS
        )
        clients[(caller, server.index)] = client
        return client

    def http_server(
        service: str, method: str, route: str, median_ms: float, **options: Any
    ) -> Operation:
        attributes = {
            "http.request.method": method,
            "http.route": route,
            "url.scheme": "http",
            "server.address": service,
            "server.port": SERVICES[service]["port"],
            "network.protocol.version": "1.1",
        }
        if "{" not in route:
            attributes["url.path"] = route
        options.setdefault("info_log", 0.5)
        options.setdefault(
            "log_template", '{method} {path} {status} {ms} ms request_id={uuid} user="u-{n}"'
        )
        return op(
            service,
            f"{method} {route}",
            SERVER,
            "http",
            attributes,
            median_ms,
            options.pop("sigma", 0.45),
            status_key=HTTP_STATUS,
            **options,
        )

    def http_client(caller: str, server: Operation) -> Operation:
        if (caller, server.index) in clients:
            return clients[(caller, server.index)]
        server_attrs = dict(server.attributes)
        method = server_attrs["http.request.method"]
        attributes = {
            "http.request.method": method,
            "server.address": server_attrs["server.address"],
            "server.port": server_attrs["server.port"],
            "url.full": (
                f"http://{server_attrs['server.address']}:{server_attrs['server.port']}"
                f"{server_attrs['http.route']}"
            ),
        }
        client = op(caller, method, CLIENT, "http", attributes, 0.3, 0.5, status_key=HTTP_STATUS)
        clients[(caller, server.index)] = client
        return client

    def db(
        service: str, operation: str, table: str, query: str, median_ms: float, **options: Any
    ) -> Operation:
        attributes = {
            "db.system.name": "postgresql",
            "db.system": "postgresql",
            "db.namespace": "shop",
            "db.collection.name": table,
            "db.operation.name": operation,
            "db.query.text": query,
            "server.address": "postgres",
            "server.port": 5432,
        }
        return op(
            service, f"{operation} {table}", CLIENT, "db", attributes, median_ms, 0.6, **options
        )

    def cache(service: str, command: str, median_ms: float, **options: Any) -> Operation:
        attributes = {
            "db.system.name": "redis",
            "db.system": "redis",
            "db.operation.name": command,
            "db.namespace": "0",
            "server.address": "redis",
            "server.port": 6379,
        }
        return op(service, command, CLIENT, "cache", attributes, median_ms, 0.5, **options)

    def internal(service: str, name: str, median_ms: float, sigma: float = 0.4) -> Operation:
        return op(service, name, INTERNAL, "internal", {"code.function": name}, median_ms, sigma)

    # ---- failures -------------------------------------------------------------------------
    f_payment = Failure(
        "PaymentDeclinedError",
        'card declined for transaction "{uuid}": insufficient funds (code=51, amount={n}.99 USD)',
        tuple(f.format(fn="charge", file="charge", n="{n}") for f in NODE_FRAMES),
        grpc_code=9,
    )
    f_redis = Failure(
        "StackExchange.Redis.RedisTimeoutException",
        'Timeout performing HGETALL (5000ms), inst: {n}, qu: 0, qs: 3, key: "cart:{uuid}"',
        tuple(
            f.format(fn="CartStore", method="GetCartAsync", file="RedisCartStore", n="{n}")
            for f in DOTNET_FRAMES
        ),
        grpc_code=14,
    )
    f_pg_go = Failure(
        "*pgconn.PgError",
        "ERROR: canceling statement due to statement timeout (SQLSTATE 57014) after {ms} ms",
        tuple(
            f.format(fn="catalog", method="GetProduct", file="catalog", n="{n}", hex16="{hex16}")
            for f in GO_FRAMES
        ),
        grpc_code=13,
    )
    f_checkout = Failure(
        "*errors.errorString",
        'failed to place order "{uuid}": rpc error: code = Unavailable desc = connection reset '
        "by peer (attempt {n})",
        tuple(
            f.format(fn="checkout", method="PlaceOrder", file="main", n="{n}", hex16="{hex16}")
            for f in GO_FRAMES
        ),
        grpc_code=14,
    )
    f_currency = Failure(
        "std::runtime_error",
        'unsupported currency code "X{n}" for conversion of {ms} units',
        tuple(
            f.format(
                fn="CurrencyService", method="Convert", file="server", n="{n}", hex16="{hex16}"
            )
            for f in CPP_FRAMES
        ),
        grpc_code=3,
    )
    f_recommendation = Failure(
        "grpc._channel._InactiveRpcError",
        "<_InactiveRpcError of RPC that terminated with: status = StatusCode.UNAVAILABLE, "
        'details = "failed to connect to all addresses", debug_error_string = "{hex16}">',
        tuple(
            f.format(method="ListRecommendations", file="recommendation_server", n="{n}")
            for f in PY_FRAMES
        ),
        grpc_code=14,
    )
    f_frontend = Failure(
        "Error",
        "14 UNAVAILABLE: upstream connect error or disconnect/reset before headers, "
        "request_id={uuid}",
        tuple(f.format(fn="handler", file="pages/api/handler", n="{n}") for f in NODE_FRAMES),
        http_code=500,
    )
    f_shipping = Failure("", "", (), http_code=503, status_error=False)
    f_accounting = Failure(
        "Npgsql.NpgsqlException",
        "Exception while writing to stream (0x80004005): connection {n} closed after {ms} ms",
        tuple(
            f.format(fn="Accounting.Consumer", method="ProcessOrder", file="Consumer", n="{n}")
            for f in DOTNET_FRAMES
        ),
    )
    f_pg_rust = Failure(
        "sqlx::Error::PoolTimedOut",
        "pool timed out while waiting for an open connection ({n} waiting)",
        (),
    )

    # ---- leaves: database, cache, internal work ------------------------------------------
    pg_get_product = db(
        "product-catalog",
        "SELECT",
        "products",
        "SELECT id, name, description, picture, price_usd FROM products WHERE id = $1",
        1.8,
        error_rate=0.002,
        failure=f_pg_go,
    )
    pg_list_products = db(
        "product-catalog",
        "SELECT",
        "products",
        "SELECT id, name, picture, price_usd FROM products ORDER BY id LIMIT 50",
        4.0,
        error_rate=0.002,
        failure=f_pg_go,
    )
    catalog_cache = cache("product-catalog", "GET", 0.35)
    cart_get = cache("cart", "HGETALL", 0.5, error_rate=0.002, failure=f_redis)
    cart_set = cache("cart", "HSET", 0.45, error_rate=0.002, failure=f_redis)
    cart_expire = cache("cart", "EXPIRE", 0.3)
    cart_del = cache("cart", "UNLINK", 0.3)
    rec_cache = cache("recommendation", "SMEMBERS", 0.4)
    pg_insert_order = db(
        "checkout",
        "INSERT",
        "orders",
        "INSERT INTO orders (id, user_id, total_usd, created_at) VALUES ($1, $2, $3, now())",
        3.5,
        error_rate=0.002,
        failure=f_pg_go,
    )
    pg_insert_shipment = db(
        "shipping",
        "INSERT",
        "shipments",
        "INSERT INTO shipments (order_id, tracking_id, address) VALUES ($1, $2, $3)",
        2.5,
        error_rate=0.003,
        failure=f_pg_rust,
    )
    pg_insert_ledger = db(
        "accounting",
        "INSERT",
        "ledger",
        "INSERT INTO ledger (order_id, amount_usd, currency) VALUES (@order, @amount, @cur)",
        3.0,
        error_rate=0.003,
        failure=f_accounting,
    )
    validate_card = internal("payment", "validate card", 2.0)
    rank = internal("recommendation", "rank products", 6.0, sigma=0.6)
    quote = internal("shipping", "calculate quote", 1.2)

    # ---- servers --------------------------------------------------------------------------
    get_product = grpc_server("product-catalog", "ProductCatalogService", "GetProduct", 0.6)
    list_products = grpc_server("product-catalog", "ProductCatalogService", "ListProducts", 0.8)
    get_product.steps = [Step(catalog_cache), Step(pg_get_product, probability=0.3)]
    list_products.steps = [Step(pg_list_products)]

    get_cart = grpc_server("cart", "CartService", "GetCart", 0.4, error_rate=0.001, failure=f_redis)
    add_item = grpc_server("cart", "CartService", "AddItem", 0.5)
    empty_cart = grpc_server("cart", "CartService", "EmptyCart", 0.4)
    get_cart.steps = [Step(cart_get)]
    add_item.steps = [Step(cart_get), Step(cart_set), Step(cart_expire)]
    empty_cart.steps = [Step(cart_del)]

    convert = grpc_server(
        "currency",
        "CurrencyService",
        "Convert",
        0.25,
        sigma=0.35,
        error_rate=0.001,
        failure=f_currency,
    )
    currencies = grpc_server(
        "currency", "CurrencyService", "GetSupportedCurrencies", 0.15, sigma=0.3
    )

    charge = grpc_server(
        "payment",
        "PaymentService",
        "Charge",
        8.0,
        sigma=0.6,
        error_rate=0.02,
        failure=f_payment,
        info_log=0.9,
        log_template="charged {amount} USD to card ending {card} (visa) transaction_id={uuid}",
        slow_ms=60.0,
    )
    charge.steps = [Step(validate_card)]

    recommendations = grpc_server(
        "recommendation",
        "RecommendationService",
        "ListRecommendations",
        3.0,
        error_rate=0.003,
        failure=f_recommendation,
    )

    get_quote = http_server(
        "shipping", "POST", "/get-quote", 1.5, error_rate=0.01, failure=f_shipping, info_log=0.3
    )
    ship_order = http_server(
        "shipping", "POST", "/ship-order", 2.0, error_rate=0.01, failure=f_shipping, info_log=0.5
    )
    get_quote.steps = [Step(quote)]
    ship_order.steps = [Step(pg_insert_shipment)]

    process_order = op(
        "accounting",
        "process orders",
        CONSUMER,
        "messaging",
        {
            "messaging.system": "kafka",
            "messaging.destination.name": "orders",
            "messaging.operation.type": "process",
            "messaging.consumer.group.name": "accounting",
        },
        1.5,
        0.5,
        error_rate=0.005,
        failure=f_accounting,
        info_log=0.8,
        log_template='order "{uuid}" booked: {amount} USD in ledger partition {n}',
    )
    process_order.steps = [Step(pg_insert_ledger)]
    publish_order = op(
        "checkout",
        "publish orders",
        PRODUCER,
        "messaging",
        {
            "messaging.system": "kafka",
            "messaging.destination.name": "orders",
            "messaging.operation.type": "send",
            "server.address": "kafka",
            "server.port": 9092,
        },
        0.8,
        0.5,
    )
    publish_order.steps = [Step(process_order)]  # asynchronous: runs after the send

    recommendations.steps = [
        Step(rec_cache),
        Step(list_products, grpc_client("recommendation", list_products)),
        Step(rank),
    ]

    place_order = grpc_server(
        "checkout",
        "CheckoutService",
        "PlaceOrder",
        4.0,
        sigma=0.5,
        error_rate=0.003,
        failure=f_checkout,
        info_log=0.9,
        slow_ms=400.0,
        log_template='order "{uuid}" placed: {items} items, total {amount} USD, '
        'tracking "TRK-{hex8}"',
    )
    place_order.steps = [
        Step(get_cart, grpc_client("checkout", get_cart)),
        Step(get_product, grpc_client("checkout", get_product), times=(1, 5), parallel=True),
        Step(convert, grpc_client("checkout", convert), times=(1, 5), parallel=True),
        Step(get_quote, http_client("checkout", get_quote)),
        Step(charge, grpc_client("checkout", charge)),
        Step(ship_order, http_client("checkout", ship_order)),
        Step(empty_cart, grpc_client("checkout", empty_cart)),
        Step(pg_insert_order),
        Step(publish_order),
    ]

    # ---- the frontend: what users request -------------------------------------------------
    def fe(method: str, route: str, median_ms: float, **options: Any) -> Operation:
        options.setdefault("error_rate", 0.001)
        options.setdefault("failure", f_frontend)
        return http_server("frontend", method, route, median_ms, **options)

    home = fe("GET", "/", 3.0, slow_ms=250.0)
    product = fe(
        "GET",
        "/api/products/{productId}",
        2.0,
        product_path=True,
        client_error_rate=0.02,
        client_error_code=404,
        slow_ms=200.0,
    )
    view_cart = fe("GET", "/api/cart", 2.0, slow_ms=200.0)
    add_to_cart = fe("POST", "/api/cart", 2.5, client_error_rate=0.01, client_error_code=400)
    checkout = fe("POST", "/api/checkout", 5.0, slow_ms=600.0)
    recs = fe("GET", "/api/recommendations", 2.0)

    def via(caller: str, server: Operation, **options: Any) -> Step:
        client = (
            http_client(caller, server)
            if server.protocol == "http"
            else grpc_client(caller, server)
        )
        return Step(server, client, **options)

    home.steps = [
        via("frontend", currencies),
        via("frontend", list_products),
        via("frontend", get_cart),
        via("frontend", convert, times=(3, 8), parallel=True),
        via("frontend", recommendations, probability=0.5),
    ]
    product.steps = [
        via("frontend", get_product),
        via("frontend", convert),
        via("frontend", recommendations),
    ]
    view_cart.steps = [
        via("frontend", get_cart),
        via("frontend", get_product, times=(1, 4), parallel=True),
        via("frontend", get_quote),
    ]
    add_to_cart.steps = [via("frontend", get_product), via("frontend", add_item)]
    checkout.steps = [via("frontend", place_order)]
    recs.steps = [via("frontend", recommendations)]

    requests = [
        (home, 0.25),
        (product, 0.35),
        (view_cart, 0.14),
        (add_to_cart, 0.12),
        (checkout, 0.06),
        (recs, 0.08),
    ]

    resources: list[Resource] = []
    by_service: dict[str, list[Resource]] = {}
    runtime_scopes: dict[str, Scope] = {}
    for service, spec in SERVICES.items():
        runtime_scopes[service] = scope(f"{service}.runtime", spec["version"])
        for i in range(spec["instances"]):
            resource = Resource(len(resources), service, _resource_attributes(service, i))
            resources.append(resource)
            by_service.setdefault(service, []).append(resource)
    return Shop(
        SERVICES,
        resources,
        by_service,
        sorted(scopes.values(), key=lambda s: s.index),
        operations,
        requests,
        runtime_scopes,
    )


_LOGGERS = {
    "http": "handlers",
    "grpc": "handlers",
    "db": "storage",
    "cache": "storage",
    "messaging": "messaging",
    "internal": "app",
}

_SDK = {
    "nodejs": "1.30.1",
    "go": "1.35.0",
    "dotnet": "1.12.0",
    "cpp": "1.20.0",
    "rust": "0.29.1",
    "python": "1.33.1",
}


def _resource_attributes(service: str, instance: int) -> tuple[tuple[str, Any], ...]:
    spec = SERVICES[service]
    pod = f"{service}-{7 + instance}c{abs(hash_name(service)) % 9000 + 1000:04d}-{instance:x}q"
    return (
        ("service.name", service),
        ("service.namespace", "shop"),
        ("service.version", spec["version"]),
        ("service.instance.id", f"{service}-{instance}"),
        ("deployment.environment.name", "production"),
        ("host.name", pod),
        ("k8s.pod.name", pod),
        ("k8s.namespace.name", "shop"),
        ("telemetry.sdk.name", "opentelemetry"),
        ("telemetry.sdk.language", spec["lang"]),
        ("telemetry.sdk.version", _SDK[spec["lang"]]),
    )


def hash_name(text: str) -> int:
    """A stable small hash (Python's ``hash`` of a str changes between processes)."""
    value = 0
    for ch in text.encode():
        value = (value * 31 + ch) & 0xFFFFFFFF
    return value
