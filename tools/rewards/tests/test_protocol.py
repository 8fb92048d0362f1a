"""The shared protocol layer (oip_server.py) with a stub model, over real HTTP on a loopback port."""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import unittest
import urllib.error
import urllib.request

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import oip_server as oip  # noqa: E402
from stub_server import Brightness  # noqa: E402


class Failing(oip.Scorer):
    name = "failing"

    def score(self, images, prompts):
        raise MemoryError("CUDA out of memory")


def request_body(images: np.ndarray, prompts, dtype="UINT8", binary_out=False):
    raw = np.ascontiguousarray(images).tobytes()
    inputs = [{"name": "images", "datatype": dtype, "shape": list(images.shape), "parameters": {"binary_data_size": len(raw)}}]
    if prompts is not None:
        inputs.append({"name": "prompt", "datatype": "BYTES", "shape": [len(prompts)], "data": prompts})
    head = json.dumps({"id": "r1", "inputs": inputs, "outputs": [{"name": "scores", "parameters": {"binary_data": binary_out}}]}).encode()
    return head + raw, len(head)


class Server:
    def __init__(self, scorer, token=None, max_batch=32):
        self.server = oip.RewardServer(("127.0.0.1", 0), scorer, token, max_batch, False)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def call(self, path, body=None, header_length=None, headers=None):
        req = urllib.request.Request(self.server.url + path, data=body, method="POST" if body is not None else "GET")
        if header_length is not None:
            req.add_header(oip.HEADER_LENGTH, str(header_length))
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers


def images(n, h=4, w=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


class ProtocolTest(unittest.TestCase):
    def test_health_metadata_and_readiness(self):
        with Server(Brightness()) as s:
            self.assertEqual(s.call("/v2/health/ready")[0], 200)
            self.assertEqual(s.call("/v2/health/live")[0], 200)
            self.assertEqual(json.loads(s.call("/v2")[1])["extensions"], ["binary_tensor_data"])
            self.assertEqual(s.call("/v2/models/brightness/ready")[0], 200)
            meta = json.loads(s.call("/v2/models/brightness")[1])
            self.assertEqual(meta["outputs"][0]["name"], "scores")
            code, body, _ = s.call("/v2/models/vqascore/ready")
            self.assertEqual(code, 404)
            self.assertIn("unknown model 'vqascore'", json.loads(body)["error"])

    def test_binary_images_and_json_prompts(self):
        x = images(3)
        with Server(Brightness()) as s:
            body, n = request_body(x, ["ab", "ab", "ab"])
            code, out, headers = s.call("/v2/models/brightness/infer", body, n)
            self.assertEqual(code, 200, out)
            self.assertIsNone(headers.get(oip.HEADER_LENGTH))
            resp = json.loads(out)
            self.assertEqual(resp["id"], "r1")
            scores = resp["outputs"][0]
            self.assertEqual((scores["datatype"], scores["shape"]), ("FP32", [3]))
            want = x.reshape(3, -1).mean(axis=1) / 255 + 1.0
            np.testing.assert_allclose(scores["data"], want, rtol=1e-6)
            np.testing.assert_allclose(resp["parameters"]["means"], want - 1.0)

    def test_fp32_images_are_quantised_like_flowscale(self):
        f = np.array([-1.0, 1.0, 0.0, -0.99999, 0.2, 1.5], dtype=np.float32)
        self.assertEqual(oip.to_uint8(f).tolist(), [0, 255, 128, 0, 153, 255])
        x = np.linspace(-1, 1, 2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
        with Server(Brightness()) as s:
            body, n = request_body(x, None, dtype="FP32")
            code, out, _ = s.call("/v2/models/brightness/infer", body, n)
            self.assertEqual(code, 200, out)
            want = oip.to_uint8(x).reshape(2, -1).mean(axis=1) / 255
            np.testing.assert_allclose(json.loads(out)["outputs"][0]["data"], want, rtol=1e-6)

    def test_binary_output_and_binary_prompts(self):
        x = images(2)
        raw = x.tobytes()
        prompt = b"".join(struct.pack("<I", len(p)) + p for p in [b"x", b"yy"])
        head = json.dumps({
            "inputs": [
                {"name": "images", "datatype": "UINT8", "shape": [2, 4, 5, 3], "parameters": {"binary_data_size": len(raw)}},
                {"name": "prompt", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": len(prompt)}},
            ],
            "parameters": {"binary_data_output": True},
        }).encode()
        with Server(Brightness()) as s:
            code, out, headers = s.call("/v2/models/brightness/infer", head + raw + prompt, len(head))
            self.assertEqual(code, 200, out)
            n = int(headers[oip.HEADER_LENGTH])
            meta = json.loads(out[:n])
            self.assertEqual(meta["outputs"][0]["parameters"]["binary_data_size"], 8)
            got = np.frombuffer(out[n:], dtype="<f4")
            want = x.reshape(2, -1).mean(axis=1) / 255 + np.array([0.5, 1.0])
            np.testing.assert_allclose(got, want, rtol=1e-6)

    def test_large_requests_are_scored_in_chunks(self):
        stub = Brightness()
        with Server(stub, max_batch=4) as s:
            body, n = request_body(images(10), ["p"])
            code, out, _ = s.call("/v2/models/brightness/infer", body, n)
            self.assertEqual(code, 200, out)
            self.assertEqual(stub.calls, [4, 4, 2])
            self.assertEqual(len(json.loads(out)["outputs"][0]["data"]), 10)
            self.assertEqual(len(json.loads(out)["parameters"]["means"]), 10)

    def test_bad_requests_are_400_with_the_reason(self):
        x = images(2)
        cases = [
            (b"{", None, "malformed JSON"),
            (b'{"inputs": []}', None, "input 'images' is missing"),
            (*request_body(x, ["a", "b", "c"]), "holds 3 prompts for 2 images"),
            (*request_body(images(1, 2, 2)[..., :2].copy(), None), "[N, H, W, 3]"),
        ]
        body, n = request_body(x, None)
        cases.append((body + b"xx", n, "2 bytes follow"))
        with Server(Brightness()) as s:
            for body, n, message in cases:
                code, out, _ = s.call("/v2/models/brightness/infer", body, n)
                self.assertEqual(code, 400, (message, out))
                self.assertIn(message, json.loads(out)["error"])

    def test_a_failing_model_is_500_and_the_server_keeps_serving(self):
        with Server(Failing()) as s:
            body, n = request_body(images(1), ["p"])
            code, out, _ = s.call("/v2/models/failing/infer", body, n)
            self.assertEqual(code, 500)
            self.assertIn("MemoryError: CUDA out of memory", json.loads(out)["error"])
            self.assertEqual(s.call("/v2/health/ready")[0], 200)

    def test_the_token_is_required_everywhere(self):
        with Server(Brightness(), token="s3cret") as s:
            for path in ["/v2/health/ready", "/v2", "/v2/models/brightness/ready"]:
                code, _, headers = s.call(path)
                self.assertEqual(code, 401, path)
                self.assertEqual(headers["WWW-Authenticate"], "Bearer")
                self.assertEqual(s.call(path, headers={"Authorization": "Bearer s3creT"})[0], 401)
                self.assertEqual(s.call(path, headers={"Authorization": "Bearer s3cret"})[0], 200)
            body, n = request_body(images(1), ["p"])
            self.assertEqual(s.call("/v2/models/brightness/infer", body, n)[0], 401)

    def test_servers_bind_to_loopback_by_default(self):
        sys.path.insert(0, os.path.dirname(HERE))
        args = oip.arguments("x", "m").parse_args([])
        self.assertEqual(args.host, "127.0.0.1")


if __name__ == "__main__":
    unittest.main()
