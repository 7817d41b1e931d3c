"""Query a Cassandra node over CQL and print its release version.

Usage: cql_ping.py HOST PORT

Exits 0 after printing the value of `SELECT release_version FROM system.local`,
and 1 with the error on stderr when the node cannot be reached or the query fails.
Needs the cassandra-driver package.
"""

import logging
import sys

from cassandra.cluster import Cluster


def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    # The driver logs a warning for each protocol version that the server rejects
    # during negotiation. The exit code and the stderr message are enough here.
    logging.disable(logging.WARNING)
    cluster = Cluster([host], port=port, connect_timeout=5, control_connection_timeout=5)
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local", timeout=10).one()
        print(row.release_version)
        return 0
    except Exception as error:  # any failure means "not ready yet" to the caller
        print(f"CQL query to {host}:{port} failed: {error}", file=sys.stderr)
        return 1
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    sys.exit(main())
