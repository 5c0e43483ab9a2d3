"""Generator tests: the ingest tests' private lake and topics on the shared stack."""

from __future__ import annotations

from tests.ingest.conftest import lake_settings  # noqa: F401  (the fixture)
