#!/usr/bin/env python3
"""A TCP proxy that delays every chunk by a fixed time in each direction, so a loopback
server behaves like a remote one (round trip = 2 x DELAY). netem is not always available.

usage: delay-proxy.py LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_MS
"""
import asyncio
import sys


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def pump():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    task = asyncio.create_task(pump())
    try:
        while True:
            data = await reader.read(1 << 16)
            await queue.put((loop.time() + delay, data))
            if not data:
                break
    except ConnectionError:
        await queue.put((loop.time(), b""))
    await task


async def main():
    listen, target, delay_ms = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    host, port = target.rsplit(":", 1)
    delay = delay_ms / 1000

    async def handle(cr, cw):
        try:
            sr, sw = await asyncio.open_connection(host, int(port))
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, sw, delay), pipe(sr, cw, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


asyncio.run(main())
