"""A socket guard: connections may only go to loopback addresses or Unix sockets."""

from __future__ import annotations

import ipaddress
import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class OutsideConnection(ConnectionRefusedError):
    pass


def is_loopback(address) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX path
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: it would need DNS, which is outside too


log_path = ""  # where refused attempts are recorded; set by install()


def install(path: str) -> None:
    global log_path
    log_path = path

    def check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(f"{address!r}\n")
            raise OutsideConnection(f"netguard: connection to {address!r} refused in tests")

    def connect(self, address):
        check(self, address)
        return _original_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return _original_connect_ex(self, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
