package org.flowscale.rewards.oip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.flowscale.rewards.toy.ToyRewardServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The toy reward server's endpoints, spoken to with plain HTTP. */
class OipServerTest {
  OipServer server;
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    http.close();
  }

  HttpResponse<byte[]> send(HttpRequest.Builder b) throws Exception {
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  HttpRequest.Builder at(String path) {
    return HttpRequest.newBuilder(URI.create(server.url() + path));
  }

  static JsonNode json(HttpResponse<byte[]> r) throws Exception {
    return OipCodec.JSON.readTree(r.body());
  }

  @Test
  void healthMetadataAndReadiness() throws Exception {
    server = ToyRewardServer.builder().start();
    assertTrue(server.url().toString().startsWith("http://127.0.0.1:"));
    assertEquals(200, send(at("/v2/health/ready")).statusCode());
    assertEquals(200, send(at("/v2/health/live")).statusCode());
    JsonNode meta = json(send(at("/v2")));
    assertEquals("[\"binary_tensor_data\"]", meta.get("extensions").toString());
    assertEquals(List.of("aesthetic", "compositional", "counting"), server.modelNames());
    JsonNode model = json(send(at("/v2/models/counting")));
    assertEquals("counting", model.get("name").asText());
    assertEquals("images", model.get("inputs").get(0).get("name").asText());
    assertEquals(200, send(at("/v2/models/counting/ready")).statusCode());
    assertEquals(200, send(at("/v2/models/counting/versions/1/ready")).statusCode());
    HttpResponse<byte[]> r = send(at("/v2/models/vqascore/ready"));
    assertEquals(404, r.statusCode());
    assertTrue(json(r).get("error").asText().contains("unknown model 'vqascore'"));
    assertEquals(404, send(at("/v1/models")).statusCode());
    assertEquals(405, send(at("/v2/models/counting/infer")).statusCode());
  }

  @Test
  void inferenceAnswersJsonOrBinaryAsAsked() throws Exception {
    server = ToyRewardServer.builder().start();
    float[] dark = new float[32 * 32 * 3];
    java.util.Arrays.fill(dark, -1f);
    OipTensor images = OipTensor.ofFp32("images", new long[] {1, 32, 32, 3}, dark);
    OipTensor prompt = OipTensor.ofStrings("prompt", new long[] {1}, List.of("two red circles"));
    for (boolean binary : List.of(false, true)) {
      OipCodec.Body b =
          OipCodec.encodeRequest(
              new OipCodec.Request(
                  "id-1",
                  Map.of(),
                  List.of(images, prompt),
                  List.of(new OipCodec.RequestedOutput("scores", binary))),
              t -> t.name().equals("images"));
      HttpResponse<byte[]> r =
          send(
              at("/v2/models/counting/infer")
                  .header(OipCodec.HEADER_LENGTH, Integer.toString(b.jsonLength()))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(b.bytes())));
      assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
      int len = r.headers().firstValue(OipCodec.HEADER_LENGTH).map(Integer::parseInt).orElse(-1);
      assertEquals(binary, len >= 0);
      OipCodec.Response resp = OipCodec.decodeResponse(r.body(), len);
      assertEquals("id-1", resp.id());
      assertEquals("counting", resp.modelName());
      // an empty image: two circles missing
      assertArrayEquals(new double[] {-4.0}, resp.output("scores").orElseThrow().toDoubles());
    }
  }

  @Test
  void badRequestsAre400WithTheReason() throws Exception {
    server = ToyRewardServer.builder().start();
    record Case(String json, String message) {}
    for (Case c :
        List.of(
            new Case("{", "malformed request"),
            new Case("{\"inputs\": []}", "input 'images' is missing"),
            new Case(
                "{\"inputs\":[{\"name\":\"images\",\"datatype\":\"UINT8\",\"shape\":[1,2,2,3],"
                    + "\"data\":[0,0,0,0,0,0,0,0,0,0,0,0]}]}",
                "'images' must be [N, 32, 32, 3]"))) {
      HttpResponse<byte[]> r =
          send(at("/v2/models/counting/infer").POST(HttpRequest.BodyPublishers.ofString(c.json())));
      assertEquals(400, r.statusCode());
      assertTrue(json(r).get("error").asText().contains(c.message()), c.toString());
    }
  }

  @Test
  void aTokenIsRequiredEverywhere() throws Exception {
    server = ToyRewardServer.builder().token("s3cret").start();
    for (String path : List.of("/v2/health/ready", "/v2", "/v2/models/counting/ready")) {
      HttpResponse<byte[]> r = send(at(path));
      assertEquals(401, r.statusCode(), path);
      assertEquals("Bearer", r.headers().firstValue("WWW-Authenticate").orElseThrow());
      assertEquals(401, send(at(path).header("Authorization", "Bearer s3creT")).statusCode());
      assertEquals(200, send(at(path).header("Authorization", "Bearer s3cret")).statusCode());
    }
  }
}
