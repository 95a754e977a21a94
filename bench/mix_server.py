"""A replay server for `tail`'s long-and-hostile mix: `python -m bench.mix_server COUNT`.

The demo world's texts are short and tame; this serves one conversation whose
messages cycle through what makes a terminal-safe pass-through work: a short
line, a 3 KB ASCII text, a 3 KB text in Yoruba, Chinese and emoji, and a hostile
one (DEL, C1 controls, bidi overrides raw in the JSON; escape sequences and
line breaks as JSON escapes), half of the hostile ones spread over two `data:`
lines. Only what `tail` and the SDK's stream call need: a stream ticket, and
the stream (`after` = a message id), replayed from the pre-encoded frames and
then held open. It prints the demo server's banner, so `DemoServerProcess`
can start it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

from aiohttp import web

API_KEY = "sk_bench_mix_0000000000000000"
AGENT = "ag_mix"
CONVERSATION = "c_mix"
PREFIX = "/api/v1/console/agents/{agent}/conversations/{conv}"
_LONG_ASCII = (
    "Thanks for waiting. Your order of two jollof plates, one suya wrap and a chapman "
    "is being prepared; delivery to 14 Admiralty Way usually takes 35 minutes at this hour. "
) * 20
_LONG_WIDE = ("Ẹ kú àárọ̀! 你好\uff0c订单已确认 ✓ — café naïve 🍲🥤 ") * 70
_HOSTILE = (
    "\x1b[31mred\x1b[0m \u202eevil\u202c text\x7f with \x85C1\x9b2J and \u2066isolates\u2069"
    "\ttab\nnewline\r\nand a bell\x07"
)


def message_text(index: int) -> str:
    """Message `index`'s text: the mix cycles through four kinds."""
    kind = index % 4
    if kind == 0:
        return f"Hello, order #{index} is on its way."
    if kind == 1:
        return f"{_LONG_ASCII[:3000]} #{index}"
    if kind == 2:
        return f"{_LONG_WIDE[:1500]} #{index}"  # about 3 KB of UTF-8
    return f"{_HOSTILE} #{index}"


def message_id(index: int) -> str:
    """Message `index`'s id."""
    return f"m_mix_{index:07d}"


def frame(index: int) -> bytes:
    """Message `index` as a stream frame, as the service would send it."""
    data = {
        "id": message_id(index),
        "conversation_id": CONVERSATION,
        "role": "customer" if index % 2 else "assistant",
        "message": message_text(index),
        "message_type": "text",
        "created_at": f"2026-11-23T10:{index // 60000 % 60:02d}:{index // 1000 % 60:02d}."
        f"{index % 1000:03d}Z",
    }
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if index % 8 == 3:
        # A payload spread over two `data:` lines (joined with a line break).
        head, tail = payload.split(',"message"', 1)
        lines = f'data: {head},\ndata: "message"{tail}\n'
    else:
        lines = f"data: {payload}\n"
    return f"id: {data['id']}\nevent: message\n{lines}\n".encode()


def build_app(count: int) -> web.Application:
    """The app: `count` + 1 messages (index 0 is the resume point a replay starts after)."""
    frames = [frame(i) for i in range(count + 1)]
    index = {message_id(i): i for i in range(count + 1)}

    def authorised(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {API_KEY}"

    async def ticket(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.json_response({"message": "bad key", "code": "unauthorized"}, status=401)
        body = {"message": "ok", "data": {"ticket": "tk_mix_ticket", "expires_in": 60}}
        return web.json_response(body, status=201)

    async def messages(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.json_response({"message": "bad key", "code": "unauthorized"}, status=401)
        # No history here: a resume point's time is not to be found.
        meta = {
            "total_count": 0,
            "page_count": 0,
            "current_page": 1,
            "limit": 100,
            "has_next_page": False,
            "has_previous_page": False,
        }
        return web.json_response({"message": "ok", "data": [], "meta": meta})

    async def stream(request: web.Request) -> web.StreamResponse:
        start = index.get(request.query.get("after", ""), -1) + 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        batch: list[bytes] = []
        size = 0
        for chunk in frames[start:]:
            batch.append(chunk)
            size += len(chunk)
            if size >= 1 << 18:
                await response.write(b"".join(batch))
                batch, size = [], 0
        if batch:
            await response.write(b"".join(batch))
        # Held open, as a live stream is, until the reader goes.
        await asyncio.Event().wait()
        return response

    app = web.Application()
    app.router.add_post(PREFIX + "/stream-ticket", ticket)
    app.router.add_get(PREFIX + "/messages", messages)
    app.router.add_get(PREFIX + "/stream", stream)
    return app


async def _serve(count: int) -> None:
    runner = web.AppRunner(build_app(count), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"bench mix server on http://127.0.0.1:{port}  (api key: {API_KEY})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Serve until interrupted."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(count))


if __name__ == "__main__":
    main()
