"""OpenAPI links: how the id an operation returns feeds the operations on what it created
(a collection's id → read, change, share, delete it). Generated clients and the fuzzer's
stateful run follow them (create → read → update → delete)."""

from __future__ import annotations


def link(path: str, method: str, **parameters: str) -> dict:
    """A link to ``method path`` whose parameters come from the answer, e.g.
    ``collection_id="$response.body#/id"``."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


def links(paths: dict[str, tuple[str, ...]], **parameters: str) -> dict:
    """One link per (path, method) of ``paths`` ({path: methods}), each with ``parameters``:
    named after the method and the path's last words, as OpenAPI link names must be."""
    named = {}
    for path, methods in paths.items():
        words = [w.strip("{}") for w in path.split("/")[2:]]
        for method in methods:
            name = "".join(w.title().replace("_", "") for w in [method, *words])
            named[name] = link(path, method, **parameters)
    return named
