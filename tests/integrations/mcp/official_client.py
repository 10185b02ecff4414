"""Drive an MCP server with the official ``mcp`` Python client (run with the client's venv).

Usage: ``python official_client.py SPEC.json``; SPEC names the server command (``command``,
``args``, ``env``, ``cwd``) or its Streamable HTTP endpoint (``url``), the connection ``mode``
(``legacy``: the initialize handshake; ``auto``: ``server/discover`` first, the 2026-07-28 way,
falling back to the handshake) and the ``steps`` (``{"op": "list"}``, ``{"op": "call",
"name": ..., "arguments": {...}}``, ``{"op": "list_resources"}``, ``{"op": "list_templates"}``,
``{"op": "list_prompts"}``, ``{"op": "read", "uri": ...}``, ``{"op": "get_prompt", "name":
...}``, ``{"op": "complete", "prompt": NAME, "argument": NAME, "value": TEXT}``, ``{"op":
"subscribe", "uri": ...}`` (2025-era servers only)). Server notifications the client received
are listed by method in ``notifications``. With ``elicit`` (an object: the form content to
answer with) the client declares the elicitation capability and answers every elicitation with
``accept`` and that content (URL mode: ``accept`` alone), noting each request it was shown in
``elicitations``. Prints one JSON object:
the protocol version in use, one result per step, and the elicitations shown. Not a test
module: the project's venv does not have ``mcp``; the test runs this file with another
interpreter.
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
    from mcp.types import ElicitResult

    out = {"steps": [], "elicitations": [], "notifications": []}

    async def on_message(message):
        root = getattr(message, "root", message)
        method = getattr(root, "method", None)
        if isinstance(method, str):
            params = getattr(root, "params", None)
            uri = getattr(params, "uri", None)
            out["notifications"].append(method + (f" {uri}" if uri else ""))

    async def on_elicit(context, request):
        shown = request.model_dump(mode="json", by_alias=True, exclude_none=True)
        out["elicitations"].append(shown)
        if shown.get("mode") == "url":
            return ElicitResult(action="accept")
        return ElicitResult(action="accept", content=spec["elicit"])

    extra = {"elicitation_callback": on_elicit} if "elicit" in spec else {}
    extra["message_handler"] = on_message
    async with Client(params, mode=spec.get("mode", "auto"), cache=None,
                      read_timeout_seconds=60, **extra) as client:
        out["protocol"] = client.session.protocol_version
        for step in spec["steps"]:
            try:
                if step["op"] == "list":
                    listed = await client.list_tools()
                    out["steps"].append({"tools": [t.name for t in listed.tools]})
                elif step["op"] == "list_resources":
                    res = await client.list_resources()
                    out["steps"].append({"resources": [r.uri for r in res.resources]})
                elif step["op"] == "list_templates":
                    tpl = await client.list_resource_templates()
                    out["steps"].append({"templates": [t.uri_template
                                                       for t in tpl.resource_templates]})
                elif step["op"] == "list_prompts":
                    prompts = await client.list_prompts()
                    out["steps"].append({"prompts": [p.name for p in prompts.prompts]})
                elif step["op"] == "read":
                    read = await client.read_resource(step["uri"])
                    out["steps"].append({"text": "\n".join(getattr(c, "text", "")
                                                           for c in read.contents)})
                elif step["op"] == "get_prompt":
                    got = await client.get_prompt(step["name"], step.get("arguments"))
                    out["steps"].append({"messages": len(got.messages)})
                elif step["op"] == "complete":
                    from mcp.types import PromptReference

                    done = await client.complete(PromptReference(type="ref/prompt",
                                                                 name=step["prompt"]),
                                                 {"name": step["argument"],
                                                  "value": step["value"]})
                    out["steps"].append({"values": list(done.completion.values),
                                         "total": done.completion.total})
                elif step["op"] == "subscribe":
                    import warnings

                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        await client.subscribe_resource(step["uri"])
                    out["steps"].append({"subscribed": step["uri"]})
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
