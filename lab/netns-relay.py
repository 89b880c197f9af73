#!/usr/bin/python3
"""lab/netns-relay.py NETNS_FILE PORT... - loopback TCP relay into a network namespace.

Listens on 127.0.0.1:PORT *inside* the network namespace NETNS_FILE (e.g.
/run/netns/kuryr-host2) and forwards every connection to 127.0.0.1:PORT of the
namespace this process was started in (the lab's root netns, where Keystone and
neutron-server listen on loopback only).

One process, two namespaces: it enters NETNS_FILE (setns), creates the listening
sockets there, and goes back before serving; a socket keeps the namespace it was
created in, so accepted connections live in the host's netns and the outgoing
ones in ours. No address is added anywhere and nothing leaves loopback, so a
lab "host" reaches Keystone and Neutron with the very URLs of the main lab
(auth_url and the catalog's http://127.0.0.1:9696) and neutron-server needs no
other bind address. Started by lab/hosts.sh (pid file, SIGTERM to stop).
"""
import asyncio
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def listeners(netns_file: str, ports: list[int]) -> list[tuple[int, socket.socket]]:
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(netns_file, os.O_RDONLY)
    out = []
    setns(target)
    try:
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen(128)
            s.setblocking(False)
            out.append((port, s))
    finally:
        setns(home)
        os.close(target)
        os.close(home)
    return out


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def relay(port: int, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
    loop = asyncio.get_running_loop()
    up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # created here: our (root) netns
    up.setblocking(False)
    try:
        await loop.sock_connect(up, ("127.0.0.1", port))
    except OSError as e:
        sys.stderr.write(f"netns-relay: 127.0.0.1:{port}: {e}\n")
        up.close()
        c_writer.close()
        return
    u_reader, u_writer = await asyncio.open_connection(sock=up)
    await asyncio.gather(pipe(c_reader, u_writer), pipe(u_reader, c_writer))
    for w in (u_writer, c_writer):
        w.close()


async def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: netns-relay.py NETNS_FILE PORT...")
    socks = listeners(sys.argv[1], [int(p) for p in sys.argv[2:]])
    servers = []
    for port, s in socks:
        servers.append(await asyncio.start_server(lambda r, w, p=port: relay(p, r, w), sock=s))
    sys.stderr.write(f"netns-relay: {sys.argv[1]}: 127.0.0.1:{','.join(sys.argv[2:])} -> 127.0.0.1 of pid {os.getpid()}'s netns\n")
    sys.stderr.flush()
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
