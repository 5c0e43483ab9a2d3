# The image of docker-compose.yml's `ingest` and `jupyter` services: this checkout installed
# from uv.lock on Python 3.11 and Java 17, with the jars `make setup` resolves from Maven
# Central (Spark's Kafka and Delta connectors, the S3A jars, our OTLP decoder) baked in, so a
# container needs no network. The broker and the Collector come from their official images.
#   docker compose build        (or: docker build -t otel-lake .)
FROM python:3.11-slim-bookworm

# A JDK, not a JRE: Maven compiles the OTLP decoder (jvm/otlp-decoder) during the build.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven \
    && rm -rf /var/lib/apt/lists/*

ENV OTELLAKE_CACHE=/opt/otellake-cache \
    OTELLAKE_HOME=/var/lib/otellake \
    OTELLAKE_LAKE=/lake \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.8

# otellake runs from its checkout: settings resolve paths against it, jars are keyed by the poms.
WORKDIR /opt/otel-lake
COPY . .
RUN uv sync --frozen --python python3 \
    && python -c "from otellake import provision; from otellake.settings import Settings; \
s = Settings(); provision.ensure_spark_jars(s); provision.ensure_s3_jars(s); \
provision.ensure_decoder_jar(s)" \
    && rm -rf "$OTELLAKE_CACHE/m2" "$OTELLAKE_CACHE/uv" jvm/*/target

RUN useradd --create-home --uid 1000 otellake \
    && mkdir -p /var/lib/otellake /lake \
    && chown otellake /var/lib/otellake /lake /opt/otel-lake/notebooks
USER otellake

CMD ["otellake", "ingest"]
