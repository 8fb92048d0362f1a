package org.flowscale.rewards.oip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The wire format: the protocol's JSON and the binary tensor data extension's layout. */
class OipCodecTest {

  @Test
  void aRequestIsJsonThenTheBinaryTensorsInOrder() throws Exception {
    byte[] pixels = {0, 1, 2, (byte) 255, 4, 5, 6, 7, 8, 9, 10, 11};
    OipTensor images = OipTensor.ofUint8("images", new long[] {2, 1, 2, 3}, pixels);
    OipTensor prompt = OipTensor.ofStrings("prompt", new long[] {2}, List.of("a cat", "a cat"));
    OipTensor extra = OipTensor.ofFp32("extra", new long[] {2}, new float[] {1.5f, -2f});
    OipCodec.Body body =
        OipCodec.encodeRequest(
            new OipCodec.Request(
                "7",
                Map.of(),
                List.of(images, prompt, extra),
                List.of(new OipCodec.RequestedOutput("scores", false))),
            t -> !t.name().equals("prompt"));

    JsonNode json =
        OipCodec.JSON.readTree(
            new String(body.bytes(), 0, body.jsonLength(), StandardCharsets.UTF_8));
    assertEquals("7", json.get("id").asText());
    JsonNode in0 = json.get("inputs").get(0);
    assertEquals("images", in0.get("name").asText());
    assertEquals("UINT8", in0.get("datatype").asText());
    assertEquals("[2,1,2,3]", in0.get("shape").toString());
    assertEquals(12, in0.get("parameters").get("binary_data_size").asInt());
    assertTrue(in0.get("data") == null);
    JsonNode in1 = json.get("inputs").get(1);
    assertEquals("BYTES", in1.get("datatype").asText());
    assertEquals("[\"a cat\",\"a cat\"]", in1.get("data").toString());
    assertEquals(8, json.get("inputs").get(2).get("parameters").get("binary_data_size").asInt());
    assertEquals(
        "{\"name\":\"scores\",\"parameters\":{\"binary_data\":false}}",
        json.get("outputs").get(0).toString());

    byte[] tail = Arrays.copyOfRange(body.bytes(), body.jsonLength(), body.bytes().length);
    assertEquals(20, tail.length);
    assertArrayEquals(pixels, Arrays.copyOf(tail, 12));
    ByteBuffer f = ByteBuffer.wrap(tail, 12, 8).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(1.5f, f.getFloat());
    assertEquals(-2f, f.getFloat());
    assertEquals("application/octet-stream", body.contentType());

    OipCodec.Request back = OipCodec.decodeRequest(body.bytes(), body.jsonLength());
    assertArrayEquals(pixels, back.input("images").orElseThrow().raw());
    assertEquals(List.of("a cat", "a cat"), back.input("prompt").orElseThrow().toStrings());
    assertArrayEquals(new float[] {1.5f, -2f}, back.input("extra").orElseThrow().toFloats());
    assertEquals(List.of(new OipCodec.RequestedOutput("scores", false)), back.outputs());
  }

  @Test
  void bytesElementsAreLengthPrefixedLittleEndian() {
    OipTensor t = OipTensor.ofStrings("p", new long[] {2}, List.of("ab", "é"));
    assertArrayEquals(
        new byte[] {2, 0, 0, 0, 'a', 'b', 2, 0, 0, 0, (byte) 0xc3, (byte) 0xa9}, t.raw());
  }

  @Test
  void jsonDataMayBeNestedAndHoldNonFiniteNumbers() {
    String json =
        "{\"model_name\":\"m\",\"outputs\":[{\"name\":\"scores\",\"datatype\":\"FP32\","
            + "\"shape\":[2,2],\"data\":[[1.0,NaN],[\"Infinity\",-0.5]]}]}";
    OipCodec.Response r = OipCodec.decodeResponse(json.getBytes(StandardCharsets.UTF_8), -1);
    double[] v = r.output("scores").orElseThrow().toDoubles();
    assertEquals(1.0, v[0]);
    assertTrue(Double.isNaN(v[1]));
    assertEquals(Double.POSITIVE_INFINITY, v[2]);
    assertEquals(-0.5, v[3]);
    assertEquals("m", r.modelName());
  }

  @Test
  void aBinaryResponseIsRead() {
    OipCodec.Body b =
        OipCodec.encodeResponse(
            new OipCodec.Response(
                "m",
                "1",
                "x",
                Map.of("counts", List.of(List.of(1, 2))),
                List.of(OipTensor.ofFp64("scores", new long[] {3}, new double[] {0.25, -1, 3}))),
            t -> true);
    OipCodec.Response r = OipCodec.decodeResponse(b.bytes(), b.jsonLength());
    assertArrayEquals(new double[] {0.25, -1, 3}, r.output("scores").orElseThrow().toDoubles());
    assertEquals(List.of(List.of(1, 2)), r.parameters().get("counts"));
    assertEquals("x", r.id());
  }

  @Test
  void malformedBodiesSayWhatIsWrong() {
    record Case(String json, int extra, String message) {}
    for (Case c :
        List.of(
            new Case("{\"outputs\": 3}", 0, "'outputs' is missing or not an array"),
            new Case("[1]", 0, "not a JSON object"),
            new Case("{\"outputs\": [", 0, "malformed"),
            new Case(
                "{\"outputs\":[{\"name\":\"s\",\"datatype\":\"FP32\",\"shape\":[3],\"data\":[1,2]}]}",
                0,
                "its shape has 3 elements, its data 2"),
            new Case(
                "{\"outputs\":[{\"name\":\"s\",\"datatype\":\"FP31\",\"shape\":[1],\"data\":[1]}]}",
                0,
                "unknown datatype 'FP31'"),
            new Case(
                "{\"outputs\":[{\"name\":\"s\",\"datatype\":\"UINT8\",\"shape\":[1],\"data\":[256]}]}",
                0,
                "256 is out of range for UINT8"),
            new Case(
                "{\"outputs\":[{\"name\":\"s\",\"datatype\":\"FP32\",\"shape\":[1],"
                    + "\"parameters\":{\"binary_data_size\":8}}]}",
                4,
                "declares 8 bytes of binary data, but only 4 follow"),
            new Case(
                "{\"outputs\":[{\"name\":\"s\",\"datatype\":\"FP32\",\"shape\":[1],"
                    + "\"parameters\":{\"binary_data_size\":4}}]}",
                6,
                "2 bytes follow the tensors' binary data"))) {
      byte[] json = c.json().getBytes(StandardCharsets.UTF_8);
      byte[] body = Arrays.copyOf(json, json.length + c.extra());
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> OipCodec.decodeResponse(body, c.extra() > 0 ? json.length : -1));
      assertTrue(e.getMessage().contains(c.message()), c + ": " + e.getMessage());
    }
  }

  @Test
  void errorBodiesGiveTheirMessage() {
    assertEquals(
        "model is loading",
        OipCodec.errorMessage("{\"error\": \"model is loading\"}".getBytes(StandardCharsets.UTF_8))
            .orElseThrow());
    assertEquals(
        "Bad Gateway",
        OipCodec.errorMessage("Bad\n  Gateway".getBytes(StandardCharsets.UTF_8)).orElseThrow());
    assertTrue(OipCodec.errorMessage(new byte[0]).isEmpty());
  }

  @Test
  void tensorsCheckTheirDataAgainstTheirShape() {
    assertThrows(
        IllegalArgumentException.class,
        () -> OipTensor.ofUint8("x", new long[] {2, 2}, new byte[3]));
    assertThrows(
        IllegalArgumentException.class,
        () -> OipTensor.ofStrings("x", new long[] {3}, List.of("a", "b")));
  }
}
