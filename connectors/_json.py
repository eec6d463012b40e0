"""Arrow columns → JSON text, vectorised: one implementation for every connector.

Raw-zone JSON columns (map columns of CUR 2.0, `_extra` with a file's undeclared columns, FOCUS
`Tags`) are built with Arrow string kernels, never a Python loop per row: billing exports carry
millions of rows and dozens of such columns, and a per-row `json.dumps` costs minutes there.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

# Control characters other than \n \r \t (escaped by kernels below) are rare in billing data:
# rows holding one go through json.dumps, which escapes them exactly.
_CTRL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def json_string(s: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Strings (or timestamps, as Arrow prints them) → JSON string literals; null stays null."""
    if isinstance(s, pa.ChunkedArray):
        s = s.combine_chunks()
    s = s.cast(pa.string())
    if len(s) > 4096:
        # billing values repeat (map keys, regions, rates): escape each distinct value once
        d = pc.dictionary_encode(s)
        if len(d.dictionary) * 2 < len(s):
            return json_string(d.dictionary).take(d.indices)
    out = pc.replace_substring(s, "\\", "\\\\")
    for raw, esc in (('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        out = pc.replace_substring(out, raw, esc)
    out = pc.binary_join_element_wise('"', out, '"', "")
    odd = pc.fill_null(pc.match_substring_regex(s, _CTRL), False)
    if pc.any(odd).as_py():
        fixed = [None if v is None else json.dumps(v) for v in s.to_pylist()]
        out = pc.if_else(odd, pa.array(fixed, pa.string()), out)
    return out


def json_value(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Any Arrow column → JSON value text per row (null where null).

    Maps become objects (in the file's key order), strings and timestamps JSON strings, numbers
    and booleans stay numbers and booleans; structs and lists (rare in exports) use json.dumps.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_map(col.type):
        return map_to_json(col)
    if pa.types.is_nested(col.type):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()], pa.string())
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_temporal(col.type):
        return json_string(col)
    return col.cast(pa.string())  # numbers and booleans are valid JSON as Arrow prints them


def map_to_json(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """map<string, …> → JSON object text (already-text columns pass through)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_string(col.type):
        return col
    if col.offset:
        col = pa.concat_arrays([pa.array([], col.type), col])  # rebase a slice so offsets start at 0
    pairs = pc.binary_join_element_wise(json_string(col.keys), pc.fill_null(json_value(col.items), "null"), ":")
    lists = pa.ListArray.from_arrays(col.offsets, pairs, mask=col.is_null())
    return pc.binary_join_element_wise("{", pc.binary_join(lists, ","), "}", "")


def json_object(names: list[str], values: list, n: int, *, empty: str | None = "{}") -> pa.Array:
    """One JSON object per row from parallel columns; a null value leaves its key out.

    A row with no value at all gets `empty` ("{}" by default, or None for a null).
    """
    # all-null columns add nothing (legacy CUR has dozens of empty ones per file): skip them cheaply
    kept = [(k, v) for k, v in zip(names, values) if v.null_count < len(v)]
    if not kept:
        return pa.array([empty] * n, pa.string())
    # `"key":value,` per non-null value, "" otherwise; concatenated, then the last comma dropped
    # (no value text ends in a comma). Not null_handling="skip": it drops all-null rows here.
    pieces = [pc.fill_null(pc.binary_join_element_wise(json.dumps(k) + ":", json_value(v), ",", ""), "")
              for k, v in kept]
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*pieces, ""), characters=",")
    obj = pc.binary_join_element_wise("{", body, "}", "")
    if empty == "{}":
        return obj
    return pc.if_else(pc.equal(body, ""), pa.scalar(empty, pa.string()), obj)
