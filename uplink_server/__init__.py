"""The Uplink server: the functions the Anvil page calls, served from this machine to Anvil.

`python -m uplink_server` (or `digits serve`) runs it; `digits health` checks a running one.
Settings come from the environment: see `uplink_server.settings`.
"""
