import sys

from uplink_server.main import serve_from_environment

sys.exit(serve_from_environment())
