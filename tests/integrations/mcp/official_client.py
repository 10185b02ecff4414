"""Drive an MCP server with the official ``mcp`` Python client (run with the client's venv).

Usage: ``python official_client.py SPEC.json``; SPEC names the server command (``command``,
``args``, ``env``, ``cwd``) or its Streamable HTTP endpoint (``url``), the connection ``mode``
(``legacy``: the initialize handshake; ``auto``: ``server/discover`` first, the 2026-07-28 way,
falling back to the handshake) and the ``steps`` (``{"op": "list"}`` or ``{"op": "call",
"name": ..., "arguments": {...}}``). Prints one JSON object: the protocol version in use and
one result per step. Not a test module: the project's venv does not have ``mcp``; the test
runs this file with another interpreter.
"""

import asyncio
import json
import sys


async def main(spec):
    from mcp import Client, StdioServerParameters

    if "url" in spec:  # Streamable HTTP
        params = spec["url"]
    else:
        params = StdioServerParameters(command=spec["command"], args=spec["args"],
                                       env=spec.get("env"), cwd=spec.get("cwd"))
    out = {"steps": []}
    async with Client(params, mode=spec.get("mode", "auto"), cache=None,
                      read_timeout_seconds=60) as client:
        out["protocol"] = client.session.protocol_version
        for step in spec["steps"]:
            try:
                if step["op"] == "list":
                    listed = await client.list_tools()
                    out["steps"].append({"tools": [t.name for t in listed.tools]})
                else:
                    result = await client.call_tool(step["name"], step.get("arguments") or {})
                    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
                    out["steps"].append({"isError": bool(result.is_error),
                                         "text": "\n".join(texts)})
            except Exception as exc:  # reported to the test, which asserts
                out["steps"].append({"error": f"{type(exc).__name__}: {exc}"})
    print(json.dumps(out))


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        asyncio.run(main(json.load(fh)))
