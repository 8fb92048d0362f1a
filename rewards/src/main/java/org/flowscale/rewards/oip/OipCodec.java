package org.flowscale.rewards.oip;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The HTTP/REST bodies of the Open Inference Protocol (KServe v2, Triton) with the binary tensor
 * data extension: a JSON object, then the binary data of every tensor whose {@code parameters}
 * carry {@code binary_data_size}, concatenated in the order the tensors are listed. The JSON
 * object's length goes in the {@value #HEADER_LENGTH} header; without that header the body is all
 * JSON.
 *
 * <p>JSON tensor data may be flat or nested (row-major either way). {@code NaN} and {@code
 * Infinity} are read (as Python's {@code json} writes them) so that a bad score is reported as a
 * bad score rather than as unreadable JSON.
 */
public final class OipCodec {
  private OipCodec() {}

  /** The header holding the JSON object's length in bytes when binary data follows it. */
  public static final String HEADER_LENGTH = "Inference-Header-Content-Length";

  /** The binary tensor data extension's size parameter. */
  public static final String BINARY_DATA_SIZE = "binary_data_size";

  static final ObjectMapper JSON =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  /**
   * An encoded body.
   *
   * @param bytes the whole HTTP body
   * @param jsonLength the JSON object's length, or -1 when the body is all JSON
   */
  public record Body(byte[] bytes, int jsonLength) {
    /** The content type to send it with. */
    public String contentType() {
      return jsonLength < 0 ? "application/json" : "application/octet-stream";
    }
  }

  /** An output a request asks for, as binary data or as JSON. */
  public record RequestedOutput(String name, boolean binary) {}

  /** An inference request ({@code $inference_request}). */
  public record Request(
      String id,
      Map<String, Object> parameters,
      List<OipTensor> inputs,
      List<RequestedOutput> outputs) {
    public Request {
      parameters = parameters == null ? Map.of() : parameters;
      inputs = List.copyOf(inputs);
      outputs = outputs == null ? List.of() : List.copyOf(outputs);
    }

    /** The input named {@code name}. */
    public Optional<OipTensor> input(String name) {
      return inputs.stream().filter(t -> t.name().equals(name)).findFirst();
    }
  }

  /** An inference response ({@code $inference_response}). */
  public record Response(
      String modelName,
      String modelVersion,
      String id,
      Map<String, Object> parameters,
      List<OipTensor> outputs) {
    public Response {
      parameters = parameters == null ? Map.of() : parameters;
      outputs = List.copyOf(outputs);
    }

    /** The output named {@code name}. */
    public Optional<OipTensor> output(String name) {
      return outputs.stream().filter(t -> t.name().equals(name)).findFirst();
    }
  }

  /** Encodes a request; the inputs {@code binary} accepts go as binary data. */
  public static Body encodeRequest(Request r, Predicate<OipTensor> binary) {
    ObjectNode root = JSON.createObjectNode();
    if (r.id() != null) {
      root.put("id", r.id());
    }
    if (!r.parameters().isEmpty()) {
      root.set("parameters", JSON.valueToTree(r.parameters()));
    }
    List<byte[]> blobs = new ArrayList<>();
    root.set("inputs", tensors(r.inputs(), binary, blobs));
    if (!r.outputs().isEmpty()) {
      ArrayNode outs = root.putArray("outputs");
      for (RequestedOutput o : r.outputs()) {
        ObjectNode n = outs.addObject();
        n.put("name", o.name());
        n.putObject("parameters").put("binary_data", o.binary());
      }
    }
    return body(root, blobs);
  }

  /** Encodes a response; the outputs {@code binary} accepts go as binary data. */
  public static Body encodeResponse(Response r, Predicate<OipTensor> binary) {
    ObjectNode root = JSON.createObjectNode();
    root.put("model_name", r.modelName());
    if (r.modelVersion() != null) {
      root.put("model_version", r.modelVersion());
    }
    if (r.id() != null) {
      root.put("id", r.id());
    }
    if (!r.parameters().isEmpty()) {
      root.set("parameters", JSON.valueToTree(r.parameters()));
    }
    List<byte[]> blobs = new ArrayList<>();
    root.set("outputs", tensors(r.outputs(), binary, blobs));
    return body(root, blobs);
  }

  /** The body of an error answer: {@code {"error": message}}. */
  public static byte[] errorBody(String message) {
    ObjectNode root = JSON.createObjectNode();
    root.put("error", message);
    return json(root);
  }

  /** A JSON body of any value (metadata, readiness). */
  public static byte[] json(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
    }
  }

  /**
   * Decodes a request.
   *
   * @param jsonLength the {@value #HEADER_LENGTH} header, or -1 when absent
   * @throws IllegalArgumentException saying what is malformed
   */
  public static Request decodeRequest(byte[] body, int jsonLength) {
    Parsed p = parse(body, jsonLength, "inputs");
    List<RequestedOutput> outputs = new ArrayList<>();
    JsonNode outs = p.root.get("outputs");
    if (outs != null && !outs.isNull()) {
      if (!outs.isArray()) {
        throw new IllegalArgumentException("'outputs' must be an array");
      }
      for (JsonNode o : outs) {
        String name = text(o, "name", "a requested output");
        JsonNode params = o.get("parameters");
        boolean bin = params != null && params.path("binary_data").asBoolean(false);
        outputs.add(new RequestedOutput(name, bin));
      }
    }
    return new Request(
        optionalText(p.root, "id"), parameters(p.root), p.tensors, List.copyOf(outputs));
  }

  /**
   * Decodes a response.
   *
   * @param jsonLength the {@value #HEADER_LENGTH} header, or -1 when absent
   * @throws IllegalArgumentException saying what is malformed
   */
  public static Response decodeResponse(byte[] body, int jsonLength) {
    Parsed p = parse(body, jsonLength, "outputs");
    return new Response(
        optionalText(p.root, "model_name"),
        optionalText(p.root, "model_version"),
        optionalText(p.root, "id"),
        parameters(p.root),
        p.tensors);
  }

  /**
   * The message of an error body ({@code {"error": "..."}}), if the body is one; else the body's
   * text, shortened to one line, if it has any.
   */
  public static Optional<String> errorMessage(byte[] body) {
    if (body == null || body.length == 0) {
      return Optional.empty();
    }
    try {
      JsonNode root = JSON.readTree(body);
      if (root != null && root.isObject() && root.hasNonNull("error")) {
        JsonNode e = root.get("error");
        return Optional.of(oneLine(e.isTextual() ? e.asText() : e.toString()));
      }
    } catch (java.io.IOException e) {
      // not JSON: the text itself is the best message there is
    }
    String text = new String(body, 0, Math.min(body.length, 2000), StandardCharsets.UTF_8);
    text = oneLine(text);
    return text.isEmpty() ? Optional.empty() : Optional.of(text);
  }

  /** Text on one line, at most 300 characters. */
  static String oneLine(String s) {
    String t = s.replaceAll("\\s+", " ").strip();
    return t.length() > 300 ? t.substring(0, 297) + "..." : t;
  }

  // ---------------------------------------------------------------------------------------------

  private record Parsed(ObjectNode root, List<OipTensor> tensors) {}

  private static Parsed parse(byte[] body, int jsonLength, String field) {
    if (body == null) {
      throw new IllegalArgumentException("the body is empty");
    }
    int headerLength = jsonLength < 0 ? body.length : jsonLength;
    if (headerLength > body.length) {
      throw new IllegalArgumentException(
          HEADER_LENGTH
              + " is "
              + jsonLength
              + ", but the body has only "
              + body.length
              + " bytes");
    }
    JsonNode tree;
    try {
      tree = JSON.readTree(new String(body, 0, headerLength, StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "the JSON is malformed: " + oneLine(e.getOriginalMessage()));
    }
    if (tree == null || !tree.isObject()) {
      throw new IllegalArgumentException("the body is not a JSON object");
    }
    ObjectNode root = (ObjectNode) tree;
    JsonNode list = root.get(field);
    if (list == null || !list.isArray()) {
      throw new IllegalArgumentException("'" + field + "' is missing or not an array");
    }
    int offset = headerLength;
    List<OipTensor> tensors = new ArrayList<>();
    for (JsonNode t : list) {
      String name = text(t, "name", "a tensor of '" + field + "'");
      Datatype dt;
      try {
        dt = Datatype.of(text(t, "datatype", "tensor '" + name + "'"));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage());
      }
      long[] shape = shape(t.get("shape"), name);
      JsonNode params = t.get("parameters");
      JsonNode size = params == null ? null : params.get(BINARY_DATA_SIZE);
      byte[] raw;
      if (size != null && !size.isNull()) {
        if (!size.canConvertToLong() || size.asLong() < 0) {
          throw new IllegalArgumentException(
              "tensor '" + name + "': " + BINARY_DATA_SIZE + " must be a size, got " + size);
        }
        long n = size.asLong();
        if (n > body.length - offset) {
          throw new IllegalArgumentException(
              "tensor '"
                  + name
                  + "' declares "
                  + n
                  + " bytes of binary data, but only "
                  + (body.length - offset)
                  + " follow");
        }
        raw = Arrays.copyOfRange(body, offset, offset + (int) n);
        offset += (int) n;
      } else {
        JsonNode data = t.get("data");
        if (data == null || data.isNull()) {
          throw new IllegalArgumentException(
              "tensor '" + name + "' has neither data nor binary data");
        }
        raw = fromJson(data, dt, OipTensor.elements(shape, name), name);
      }
      tensors.add(new OipTensor(name, dt, shape, raw));
    }
    if (offset != body.length) {
      throw new IllegalArgumentException(
          (body.length - offset)
              + " bytes follow the tensors' binary data (is "
              + BINARY_DATA_SIZE
              + " or "
              + HEADER_LENGTH
              + " wrong?)");
    }
    return new Parsed(root, List.copyOf(tensors));
  }

  private static ArrayNode tensors(
      List<OipTensor> tensors, Predicate<OipTensor> binary, List<byte[]> blobs) {
    ArrayNode arr = JSON.createArrayNode();
    for (OipTensor t : tensors) {
      ObjectNode n = arr.addObject();
      n.put("name", t.name());
      ArrayNode shape = n.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      n.put("datatype", t.datatype().name());
      boolean bin =
          binary.test(t) || t.datatype() == Datatype.FP16 || t.datatype() == Datatype.BF16;
      if (bin) {
        n.putObject("parameters").put(BINARY_DATA_SIZE, t.raw().length);
        blobs.add(t.raw());
      } else {
        n.set("data", toJson(t));
      }
    }
    return arr;
  }

  private static Body body(ObjectNode root, List<byte[]> blobs) {
    byte[] json = json(root);
    if (blobs.isEmpty()) {
      return new Body(json, -1);
    }
    ByteArrayOutputStream out =
        new ByteArrayOutputStream(json.length + blobs.stream().mapToInt(b -> b.length).sum());
    out.writeBytes(json);
    blobs.forEach(out::writeBytes);
    return new Body(out.toByteArray(), json.length);
  }

  private static ArrayNode toJson(OipTensor t) {
    ArrayNode data = JSON.createArrayNode();
    ByteBuffer b = ByteBuffer.wrap(t.raw()).order(ByteOrder.LITTLE_ENDIAN);
    int n = Math.toIntExact(t.elements());
    switch (t.datatype()) {
      case BYTES -> t.toStrings().forEach(data::add);
      case BOOL -> {
        for (int i = 0; i < n; i++) {
          data.add(b.get(i) != 0);
        }
      }
      case FP32 -> {
        for (int i = 0; i < n; i++) {
          data.add(b.getFloat(i * 4));
        }
      }
      case FP64 -> {
        for (int i = 0; i < n; i++) {
          data.add(b.getDouble(i * 8));
        }
      }
      case UINT64 -> {
        for (int i = 0; i < n; i++) {
          data.add(new java.math.BigInteger(Long.toUnsignedString(b.getLong(i * 8))));
        }
      }
      default -> {
        for (double v : t.toDoubles()) {
          data.add((long) v);
        }
      }
    }
    return data;
  }

  private static byte[] fromJson(JsonNode data, Datatype dt, long n, String name) {
    List<JsonNode> flat = new ArrayList<>();
    flatten(data, flat, name);
    if (flat.size() != n) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': its shape has " + n + " elements, its data " + flat.size());
    }
    if (dt == Datatype.BYTES) {
      List<byte[]> elements = new ArrayList<>();
      for (JsonNode e : flat) {
        if (!e.isTextual()) {
          throw new IllegalArgumentException(
              "tensor '" + name + "': BYTES data must be strings, got " + e);
        }
        elements.add(e.asText().getBytes(StandardCharsets.UTF_8));
      }
      return OipTensor.ofBytes(name, new long[] {elements.size()}, elements).raw();
    }
    if (dt == Datatype.FP16 || dt == Datatype.BF16) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': " + dt + " data can only be sent as binary data");
    }
    ByteBuffer b =
        ByteBuffer.allocate(Math.toIntExact(n * dt.size())).order(ByteOrder.LITTLE_ENDIAN);
    for (JsonNode e : flat) {
      switch (dt) {
        case BOOL -> {
          if (!e.isBoolean()) {
            throw new IllegalArgumentException(
                "tensor '" + name + "': BOOL data must be true/false, got " + e);
          }
          b.put((byte) (e.asBoolean() ? 1 : 0));
        }
        case FP32 -> b.putFloat((float) number(e, name));
        case FP64 -> b.putDouble(number(e, name));
        default -> putInteger(b, dt, e, name);
      }
    }
    return b.array();
  }

  private static void flatten(JsonNode node, List<JsonNode> out, String name) {
    if (node.isArray()) {
      for (JsonNode e : node) {
        flatten(e, out, name);
      }
    } else if (node.isValueNode()) {
      out.add(node);
    } else {
      throw new IllegalArgumentException("tensor '" + name + "': data holds an object");
    }
  }

  private static double number(JsonNode e, String name) {
    if (e.isNumber()) {
      return e.asDouble();
    }
    if (e.isTextual()) {
      switch (e.asText()) {
        case "NaN":
          return Double.NaN;
        case "Infinity", "+Infinity", "inf":
          return Double.POSITIVE_INFINITY;
        case "-Infinity", "-inf":
          return Double.NEGATIVE_INFINITY;
        default:
          break;
      }
    }
    throw new IllegalArgumentException("tensor '" + name + "': expected a number, got " + e);
  }

  private static void putInteger(ByteBuffer b, Datatype dt, JsonNode e, String name) {
    if (!e.isIntegralNumber()) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': " + dt + " data must be whole numbers, got " + e);
    }
    java.math.BigInteger v = e.bigIntegerValue();
    long[] range =
        switch (dt) {
          case UINT8 -> new long[] {0, 255};
          case INT8 -> new long[] {-128, 127};
          case UINT16 -> new long[] {0, 65535};
          case INT16 -> new long[] {Short.MIN_VALUE, Short.MAX_VALUE};
          case UINT32 -> new long[] {0, 0xffffffffL};
          case INT32 -> new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE};
          default -> null;
        };
    if (range != null) {
      if (v.bitLength() > 63 || v.longValue() < range[0] || v.longValue() > range[1]) {
        throw new IllegalArgumentException(
            "tensor '" + name + "': " + v + " is out of range for " + dt);
      }
    } else if (dt == Datatype.UINT64) {
      if (v.signum() < 0 || v.bitLength() > 64) {
        throw new IllegalArgumentException(
            "tensor '" + name + "': " + v + " is out of range for " + dt);
      }
    } else if (v.bitLength() > 63) {
      throw new IllegalArgumentException(
          "tensor '" + name + "': " + v + " is out of range for " + dt);
    }
    long x = v.longValue();
    switch (dt.size()) {
      case 1 -> b.put((byte) x);
      case 2 -> b.putShort((short) x);
      case 4 -> b.putInt((int) x);
      default -> b.putLong(x);
    }
  }

  private static long[] shape(JsonNode s, String name) {
    if (s == null || !s.isArray()) {
      throw new IllegalArgumentException("tensor '" + name + "' has no shape array");
    }
    long[] shape = new long[s.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = s.get(i);
      if (!d.isIntegralNumber() || d.asLong() < 0) {
        throw new IllegalArgumentException(
            "tensor '" + name + "': shape must hold sizes >= 0, got " + s);
      }
      shape[i] = d.asLong();
    }
    return shape;
  }

  private static String text(JsonNode node, String field, String what) {
    JsonNode v = node == null ? null : node.get(field);
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException(what + " has no '" + field + "' text");
    }
    return v.asText();
  }

  private static String optionalText(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> parameters(JsonNode root) {
    JsonNode p = root.get("parameters");
    if (p == null || p.isNull()) {
      return Map.of();
    }
    if (!p.isObject()) {
      throw new IllegalArgumentException("'parameters' must be an object");
    }
    return java.util.Collections.unmodifiableMap(
        new LinkedHashMap<>(JSON.convertValue(p, Map.class)));
  }
}
