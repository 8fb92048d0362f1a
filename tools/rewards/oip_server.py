"""The protocol layer shared by flowscale's reference reward servers.

A reward server speaks the Open Inference Protocol over HTTP/REST (KServe v2, Triton) with the
binary tensor data extension, so flowscale's `reward_score: remote` (and any other client of that
protocol) can call it:

  GET  /v2/health/live, /v2/health/ready      200 when up
  GET  /v2                                    server metadata (extensions: binary_tensor_data)
  GET  /v2/models/<m>, /v2/models/<m>/ready   model metadata, 200 when ready
  POST /v2/models/<m>/infer                   inputs  images UINT8 (or FP32 in [-1, 1]) [N, H, W, 3]
                                                      prompt BYTES [N] or [1] (optional per model)
                                              output  scores FP32 [N], plus the scorer's
                                                      response parameters (e.g. counts)

Errors are answered as {"error": "..."}: 400 for a request the model cannot take, 401 for a
missing or wrong bearer token, 404 for an unknown path or model, 500 when the model fails.

The server binds to 127.0.0.1 unless --host says otherwise; with --token-env NAME every request
must carry "Authorization: Bearer <the value of $NAME>". Inference runs one request at a time (one
model on one GPU); requests larger than --max-batch images are scored in chunks.

Only the standard library and numpy are needed here; each server imports its model's packages
when it loads the model, so `--help` and the tests run without them.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import struct
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import unquote

import numpy as np

HEADER_LENGTH = "Inference-Header-Content-Length"

_DTYPES = {
    "BOOL": np.dtype("bool"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}


class RequestError(Exception):
    """A request the server answers with an HTTP error and {"error": message}."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Scorer:
    """A reward model behind the protocol. Subclasses set `name` and implement `score`.

    `score(images, prompts)` gets `images` as uint8 [n, H, W, 3] (RGB) and one prompt per image
    ("" when the request had none) and returns (scores [n], parameters): `parameters` is a dict of
    JSON values added to the response (e.g. {"counts": [...]}) or {}. Raise RequestError for input
    the model cannot take (answered 400).
    """

    name = "reward"
    needs_prompt = True

    def score(self, images: np.ndarray, prompts: List[str]) -> Tuple[np.ndarray, Dict]:
        raise NotImplementedError

    def metadata(self) -> Dict:
        inputs = [{"name": "images", "datatype": "UINT8", "shape": [-1, -1, -1, 3]}]
        if self.needs_prompt:
            inputs.append({"name": "prompt", "datatype": "BYTES", "shape": [-1]})
        return {
            "inputs": inputs,
            "outputs": [{"name": "scores", "datatype": "FP32", "shape": [-1]}],
        }


# --- the wire format -------------------------------------------------------------------------


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Images in [-1, 1] as 8-bit values: round((x + 1) / 2 * 255), half up, clamped (as flowscale)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise RequestError("'images' hold NaN or infinite values")
    return np.clip(np.floor((x + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)


def _bytes_elements(raw: bytes, name: str) -> List[bytes]:
    out, i = [], 0
    while i < len(raw):
        if len(raw) - i < 4:
            raise RequestError(f"tensor '{name}': BYTES data ends inside an element's length")
        (n,) = struct.unpack_from("<I", raw, i)
        i += 4
        if n > len(raw) - i:
            raise RequestError(f"tensor '{name}': a BYTES element claims {n} bytes")
        out.append(raw[i : i + n])
        i += n
    return out


def _flatten(data) -> list:
    if isinstance(data, list):
        out = []
        for d in data:
            out.extend(_flatten(d))
        return out
    return [data]


def decode_tensors(body: bytes, header_length: Optional[int], field: str) -> Tuple[dict, dict]:
    """Parses a request or response body: (the JSON object, {name: numpy array or list of bytes})."""
    n = len(body) if header_length is None else header_length
    if n > len(body):
        raise RequestError(f"{HEADER_LENGTH} is {n}, but the body has {len(body)} bytes")
    try:
        root = json.loads(body[:n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(f"malformed JSON: {e}")
    if not isinstance(root, dict) or not isinstance(root.get(field), list):
        raise RequestError(f"'{field}' is missing or not an array")
    offset = n
    tensors = {}
    for t in root[field]:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise RequestError(f"a tensor of '{field}' has no name")
        name = t["name"]
        dtype = t.get("datatype")
        shape = t.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise RequestError(f"tensor '{name}' has a bad shape: {shape!r}")
        count = int(np.prod(shape)) if shape else 1
        size = (t.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or size > len(body) - offset:
                raise RequestError(f"tensor '{name}': binary_data_size {size!r} does not fit the body")
            raw = body[offset : offset + size]
            offset += size
            if dtype == "BYTES":
                value = _bytes_elements(raw, name)
                if len(value) != count:
                    raise RequestError(f"tensor '{name}' needs {count} BYTES elements, has {len(value)}")
            elif dtype in _DTYPES:
                dt = _DTYPES[dtype]
                if len(raw) != count * dt.itemsize:
                    raise RequestError(
                        f"tensor '{name}' {dtype} {shape} needs {count * dt.itemsize} bytes, got {len(raw)}"
                    )
                value = np.frombuffer(raw, dtype=dt).reshape(shape)
            else:
                raise RequestError(f"tensor '{name}': unknown datatype {dtype!r}")
        else:
            if "data" not in t:
                raise RequestError(f"tensor '{name}' has neither data nor binary data")
            flat = _flatten(t["data"])
            if len(flat) != count:
                raise RequestError(f"tensor '{name}': its shape has {count} elements, its data {len(flat)}")
            if dtype == "BYTES":
                if not all(isinstance(s, str) for s in flat):
                    raise RequestError(f"tensor '{name}': BYTES data must be strings")
                value = [s.encode("utf-8") for s in flat]
            elif dtype in _DTYPES:
                try:
                    value = np.array(flat, dtype=_DTYPES[dtype]).reshape(shape)
                except (TypeError, ValueError, OverflowError) as e:
                    raise RequestError(f"tensor '{name}': {e}")
            else:
                raise RequestError(f"tensor '{name}': unknown datatype {dtype!r}")
        tensors[name] = (dtype, value)
    if offset != len(body):
        raise RequestError(f"{len(body) - offset} bytes follow the tensors' binary data")
    return root, tensors


def encode_response(
    model: str, request_id: Optional[str], scores: np.ndarray, parameters: Dict, binary: bool
) -> Tuple[bytes, Optional[int]]:
    """The response body and its JSON length (None when it is all JSON)."""
    scores = np.ascontiguousarray(scores, dtype="<f4").reshape(-1)
    out = {"name": "scores", "datatype": "FP32", "shape": [int(scores.shape[0])]}
    blob = b""
    if binary:
        blob = scores.tobytes()
        out["parameters"] = {"binary_data_size": len(blob)}
    else:
        out["data"] = [float(v) for v in scores]
    root = {"model_name": model, "model_version": "1", "outputs": [out]}
    if request_id is not None:
        root["id"] = request_id
    if parameters:
        root["parameters"] = parameters
    head = json.dumps(root, allow_nan=True).encode("utf-8")
    return (head + blob, len(head)) if binary else (head, None)


def images_and_prompts(tensors: dict, needs_prompt: bool) -> Tuple[np.ndarray, List[str]]:
    """The request's images as uint8 [N, H, W, 3] and one prompt per image."""
    if "images" not in tensors:
        raise RequestError("input 'images' is missing")
    dtype, images = tensors["images"]
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[3] != 3:
        raise RequestError(f"'images' must be [N, H, W, 3], got {getattr(images, 'shape', None)}")
    if dtype == "FP32":
        images = to_uint8(images)
    elif dtype != "UINT8":
        raise RequestError(f"'images' must be UINT8 or FP32, got {dtype}")
    n = images.shape[0]
    if "prompt" not in tensors:
        if needs_prompt:
            raise RequestError("input 'prompt' is missing: this reward needs the prompt")
        return images, [""] * n
    dtype, prompts = tensors["prompt"]
    if dtype != "BYTES":
        raise RequestError(f"'prompt' must be BYTES, got {dtype}")
    try:
        texts = [p.decode("utf-8") for p in prompts]
    except UnicodeDecodeError:
        raise RequestError("'prompt' is not UTF-8 text")
    if len(texts) == 1:
        texts = texts * n
    if len(texts) != n:
        raise RequestError(f"'prompt' holds {len(texts)} prompts for {n} images (send 1 or {n})")
    return images, texts


# --- the server ------------------------------------------------------------------------------


class RewardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, scorer: Scorer, token: Optional[str], max_batch: int, log: bool):
        self.scorer = scorer
        self.token = token.encode("utf-8") if token else None
        self.max_batch = max_batch
        self.lock = threading.Lock()
        self.log = log
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def infer(self, body: bytes, header_length: Optional[int]) -> Tuple[bytes, Optional[int]]:
        root, tensors = decode_tensors(body, header_length, "inputs")
        images, prompts = images_and_prompts(tensors, self.scorer.needs_prompt)
        wanted = root.get("outputs") or []
        for o in wanted:
            if not isinstance(o, dict) or o.get("name") != "scores":
                raise RequestError(f"this model's only output is 'scores', not {o!r}")
        binary = bool((root.get("parameters") or {}).get("binary_data_output")) or any(
            bool((o.get("parameters") or {}).get("binary_data")) for o in wanted
        )
        scores, params = [], {}
        with self.lock:
            for i in range(0, len(prompts), self.max_batch):
                s, p = self.scorer.score(images[i : i + self.max_batch], prompts[i : i + self.max_batch])
                s = np.asarray(s, dtype=np.float64).reshape(-1)
                if s.shape[0] != len(prompts[i : i + self.max_batch]):
                    raise RuntimeError(f"the scorer gave {s.shape[0]} scores for {len(prompts[i:i + self.max_batch])} images")
                scores.append(s)
                for k, v in (p or {}).items():
                    params.setdefault(k, []).extend(v if isinstance(v, list) else [v])
        all_scores = np.concatenate(scores) if scores else np.zeros(0)
        return encode_response(self.scorer.name, root.get("id"), all_scores, params, binary)


class _Handler(BaseHTTPRequestHandler):
    server: RewardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.log:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def _send(self, status: int, body: bytes, header_length: Optional[int] = None, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if header_length is None else "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if header_length is not None:
            self.send_header(HEADER_LENGTH, str(header_length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value, extra=None):
        self._send(status, json.dumps(value).encode("utf-8"), None, extra)

    def _error(self, status: int, message: str, extra=None):
        self._json(status, {"error": message}, extra)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _authorized(self) -> bool:
        if self.server.token is None:
            return True
        h = self.headers.get("Authorization") or ""
        if not h[:7].lower() == "bearer ":
            return False
        return hmac.compare_digest(h[7:].strip().encode("utf-8"), self.server.token)

    def _route(self, method: str):
        body = self._body()
        if not self._authorized():
            return self._error(401, "a valid bearer token is required (Authorization: Bearer ...)",
                               {"WWW-Authenticate": "Bearer"})
        parts = [unquote(p) for p in self.path.split("?")[0].split("/") if p]
        scorer = self.server.scorer
        if not parts or parts[0] != "v2":
            return self._error(404, f"no such endpoint: {self.path}")
        p = parts[1:]
        if not p:
            return self._get(method) and self._json(200, {"name": "flowscale-reward", "version": "1", "extensions": ["binary_tensor_data"]})
        if p[0] == "health" and len(p) == 2 and p[1] in ("live", "ready"):
            return self._get(method) and self._json(200, {p[1]: True})
        if p[0] == "models" and len(p) >= 2:
            if p[1] != scorer.name:
                return self._error(404, f"unknown model '{p[1]}' (served: ['{scorer.name}'])")
            rest = p[2:]
            if len(rest) >= 2 and rest[0] == "versions":
                rest = rest[2:]
            if not rest:
                return self._get(method) and self._json(200, {"name": scorer.name, "versions": ["1"], "platform": "flowscale-reference", **scorer.metadata()})
            if rest == ["ready"]:
                return self._get(method) and self._json(200, {"name": scorer.name, "ready": True})
            if rest == ["infer"]:
                if method != "POST":
                    return self._error(405, f"infer takes POST, not {method}")
                h = self.headers.get(HEADER_LENGTH)
                try:
                    header_length = None if h is None else int(h)
                except ValueError:
                    return self._error(400, f"bad {HEADER_LENGTH} header: {h}")
                try:
                    out, length = self.server.infer(body, header_length)
                except RequestError as e:
                    return self._error(e.status, str(e))
                except Exception as e:  # the model failed: say how, keep serving
                    traceback.print_exc()
                    return self._error(500, f"model '{scorer.name}' failed: {type(e).__name__}: {e}")
                return self._send(200, out, length)
        return self._error(404, f"no such endpoint: {self.path}")

    def _get(self, method: str) -> bool:
        if method != "GET":
            self._error(405, f"this endpoint takes GET, not {method}")
            return False
        return True

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")


# --- command line ----------------------------------------------------------------------------


def arguments(description: str, default_model: str) -> argparse.ArgumentParser:
    """The options every reference server takes; servers add their model's own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--name", default=default_model, help=f"the served model's name, i.e. reward_model (default {default_model})")
    p.add_argument("--token-env", metavar="NAME", help="require 'Authorization: Bearer $NAME' on every request")
    p.add_argument("--device", default="cuda", help="torch device (default cuda)")
    p.add_argument("--max-batch", type=int, default=32, help="images per model call (default 32)")
    p.add_argument("--log", action="store_true", help="log every request to stderr")
    return p


def token_from(args) -> Optional[str]:
    if not args.token_env:
        return None
    token = os.environ.get(args.token_env, "").strip()
    if not token:
        raise SystemExit(f"--token-env {args.token_env}: the variable is not set or empty")
    return token


def serve(scorer: Scorer, args, ready: Callable[[RewardServer], None] = None) -> None:
    """Binds, prints where it listens (one line on stdout), and serves until interrupted."""
    if args.max_batch < 1:
        raise SystemExit("--max-batch must be at least 1")
    server = RewardServer((args.host, args.port), scorer, token_from(args), args.max_batch, args.log)
    print(f"listening on {server.url} serving '{scorer.name}'" + (" (bearer token required)" if server.token else ""), flush=True)
    if ready:
        ready(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(make_scorer: Callable[[argparse.Namespace], Scorer], parser: argparse.ArgumentParser, argv: Sequence[str] = None):
    """Parses the options, loads the model with `make_scorer(args)` and serves it."""
    args = parser.parse_args(argv)
    scorer = make_scorer(args)
    scorer.name = args.name
    serve(scorer, args)


def group_by_prompt(prompts: List[str]) -> Dict[str, List[int]]:
    """Image indices per distinct prompt, in first-seen order."""
    groups: Dict[str, List[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(p, []).append(i)
    return groups


def to_pil(images: np.ndarray) -> list:
    """uint8 [n, H, W, 3] as PIL images (PIL is imported here: the models need it anyway)."""
    from PIL import Image

    return [Image.fromarray(np.ascontiguousarray(im), "RGB") for im in images]


def finite(scores) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(s)):
        raise RuntimeError("the model produced a non-finite score")
    return s


__all__ = [
    "RequestError",
    "Scorer",
    "RewardServer",
    "arguments",
    "serve",
    "main",
    "to_uint8",
    "to_pil",
    "group_by_prompt",
    "decode_tensors",
    "encode_response",
    "images_and_prompts",
    "finite",
]
