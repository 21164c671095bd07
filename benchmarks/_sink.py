"""A TLS sink for the floors of ``python -m benchmarks breakdown``, in its own process.

    python -m benchmarks._sink CA_FILE

It mints a self-signed certificate (its CA written to CA_FILE), listens on 127.0.0.1,
prints its port, then reads and drops whatever each connection writes, a thread per
connection, until its standard input closes (the measuring process ended). In a process of
its own the sink's reading is not the measured process's CPU, as the endpoint's is not in
the scale table, and the floor's frames cross the same kind of socket the streams' do
(TCP over loopback, TLS).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import sys
import threading

from streaming.local.tls import mint_self_signed


def _drain(context: ssl.SSLContext, connection: socket.socket) -> None:
    try:
        with context.wrap_socket(connection, server_side=True) as tls:
            while tls.recv(1 << 16):
                pass
    except OSError:
        pass


def main() -> None:
    certificates = mint_self_signed()
    shutil.copyfile(certificates.ca_file, sys.argv[1])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    print(listener.getsockname()[1], flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_drain, args=(context, connection), daemon=True).start()


if __name__ == "__main__":
    main()
