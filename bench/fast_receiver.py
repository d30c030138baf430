"""An ASGI app that answers every POST with 204 at once: the fastest platform there is.

Run: ``uvicorn bench.fast_receiver:app --port P`` (the benchmarks start it themselves).
"""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
