"""The ceiling: a bare grpc.aio server whose generic handler returns the request bytes. `python -m bench.echo`"""

from __future__ import annotations

import asyncio
import os
import sys

import grpc


async def _echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def _echo_stream(requests, context):  # type: ignore[no-untyped-def]
    async for request in requests:
        yield request


class _EchoHandler(grpc.GenericRpcHandler):  # type: ignore[misc]
    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        if handler_call_details.method.startswith("/tagger.v1.TaggerService/Stream"):
            return grpc.stream_stream_rpc_method_handler(_echo_stream)
        return grpc.unary_unary_rpc_method_handler(_echo)


async def main() -> None:
    """Serve on 127.0.0.1:0 and print `listening on 127.0.0.1:PORT`."""
    cap = int(os.environ.get("ECHO_CAP", "0")) or None
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)], maximum_concurrent_rpcs=cap)
    server.add_generic_rpc_handlers((_EchoHandler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())
