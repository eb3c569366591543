"""Stand-ins for what cannot run here, shared by the tests (tests/) and the benchmarks (benchmarks/).

- `anvil_stand_in`: Anvil's side of the Uplink wire protocol, on loopback, for the real anvil-uplink client.
- `anvil_app_server`: serves Anvil's real browser runtime and the app (anvil_app/) to Chromium.
- `web_page`: Chromium through Playwright, `digits serve`, and reading what the page shows.
- `postgres_cluster`: a throwaway PostgreSQL cluster (Debian's binaries), removed afterwards.

Not part of the product: the wheel does not ship it (pyproject.toml's packages).
"""
