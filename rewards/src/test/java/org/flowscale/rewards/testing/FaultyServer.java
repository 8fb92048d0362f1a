package org.flowscale.rewards.testing;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.flowscale.rewards.oip.OipCodec;
import org.flowscale.rewards.oip.OipServer;
import org.flowscale.rewards.oip.OipTensor;
import org.flowscale.rewards.toy.ToyRewardServer;

/**
 * The toy reward server on a loopback port with faults to order: HTTP errors and stalls before the
 * next inference requests, and bad answers (wrong shape, NaN, an error body) from a given request
 * on. Records what reached it. For tests of the remote reward's fault handling.
 */
public final class FaultyServer implements AutoCloseable {

  /** What the served models answer. */
  public enum Answer {
    /** The toy reward's scores. */
    NORMAL,
    /** One score too few. */
    WRONG_SHAPE,
    /** NaN for the last image. */
    NAN,
    /** HTTP 200 with {@code {"error": ...}}. */
    ERROR_200,
    /** HTTP 400 with {@code {"error": ...}}. */
    ERROR_400,
    /** The scores as FP32 of shape [n, 1] (what some Triton models answer). */
    FP32_COLUMN,
    /** An answer without a 'scores' output (from a server that ignores the requested outputs). */
    NO_SCORES
  }

  private final OipServer server;
  private final AtomicInteger inferRequests = new AtomicInteger();
  private final List<Integer> batchSizes =
      java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<String> prompts = java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<String> authorizations =
      java.util.Collections.synchronizedList(new ArrayList<>());
  private volatile int failCount;
  private volatile int failStatus;
  private volatile String failMessage;
  private volatile int stallCount;
  private volatile Duration stall = Duration.ZERO;
  private volatile Answer answer = Answer.NORMAL;
  private volatile int answerFrom = Integer.MAX_VALUE;
  private final AtomicInteger reached = new AtomicInteger();

  /** The index (1-based) of the inference request this thread handles among those let through. */
  private static final ThreadLocal<Integer> REACHED = ThreadLocal.withInitial(() -> 0);

  private FaultyServer(String token) throws IOException {
    OipServer.Builder b =
        OipServer.builder().metadata("flowscale-faulty", "1").token(token).filter(new Faults());
    for (String m : ToyRewardServer.MODELS) {
      b.model(new Scripted(ToyRewardServer.model(m)));
    }
    this.server = b.start();
  }

  /** A server on an ephemeral loopback port; {@code token} null for none. */
  public static FaultyServer start(String token) {
    try {
      return new FaultyServer(token);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  public URI url() {
    return server.url();
  }

  /** Answers the next {@code n} inference requests with {@code status} and an error body. */
  public void failNext(int n, int status, String message) {
    failStatus = status;
    failMessage = message;
    failCount = n;
  }

  /** Holds the next {@code n} inference requests for {@code d} before answering them. */
  public void stallNext(int n, Duration d) {
    stall = d;
    stallCount = n;
  }

  /** From the {@code k}-th inference request that reaches the model on (1-based), answer so. */
  public void answer(Answer a, int fromRequest) {
    answer = a;
    answerFrom = fromRequest;
  }

  /** Inference requests received (faults included). */
  public int inferRequests() {
    return inferRequests.get();
  }

  /** The image count of every inference request that reached a model, in order. */
  public List<Integer> batchSizes() {
    synchronized (batchSizes) {
      return List.copyOf(batchSizes);
    }
  }

  /** The prompts every request that reached a model carried ("" when none). */
  public List<String> prompts() {
    synchronized (prompts) {
      return List.copyOf(prompts);
    }
  }

  /** The Authorization headers every request carried ("" when none). */
  public List<String> authorizations() {
    synchronized (authorizations) {
      return List.copyOf(authorizations);
    }
  }

  @Override
  public void close() {
    server.close();
  }

  private final class Faults extends Filter {
    @Override
    public void doFilter(HttpExchange ex, Chain chain) throws IOException {
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      authorizations.add(auth == null ? "" : auth);
      if (ex.getRequestURI().getPath().endsWith("/infer")) {
        inferRequests.incrementAndGet();
        synchronized (FaultyServer.this) {
          if (failCount > 0) {
            failCount--;
            ex.getRequestBody().readAllBytes();
            byte[] body = OipCodec.errorBody(failMessage);
            ex.sendResponseHeaders(failStatus, body.length);
            ex.getResponseBody().write(body);
            ex.close();
            return;
          }
        }
        boolean hold;
        synchronized (FaultyServer.this) {
          hold = stallCount > 0;
          if (hold) {
            stallCount--;
          }
        }
        if (hold) {
          try {
            Thread.sleep(stall);
          } catch (InterruptedException e) {
            ex.close();
            return;
          }
        }
      }
      if (ex.getRequestURI().getPath().endsWith("/infer")) {
        int k = reached.incrementAndGet();
        if ((answer == Answer.ERROR_200 || answer == Answer.NO_SCORES) && k >= answerFrom) {
          // Not something OipServer sends; some servers do.
          ex.getRequestBody().readAllBytes();
          byte[] body =
              answer == Answer.ERROR_200
                  ? OipCodec.errorBody("the reward model ran out of memory")
                  : OipCodec.encodeResponse(
                          new OipCodec.Response(
                              "counting",
                              null,
                              null,
                              Map.of(),
                              List.of(
                                  OipTensor.ofStrings("labels", new long[] {1}, List.of("none")))),
                          t -> false)
                      .bytes();
          ex.getResponseHeaders().set("Content-Type", "application/json");
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
          return;
        }
        REACHED.set(k);
      }
      chain.doFilter(ex);
    }

    @Override
    public String description() {
      return "injected faults";
    }
  }

  private final class Scripted implements OipServer.Model {
    private final OipServer.Model inner;

    Scripted(OipServer.Model inner) {
      this.inner = inner;
    }

    @Override
    public String name() {
      return inner.name();
    }

    @Override
    public OipServer.Result infer(OipCodec.Request request) {
      int k = REACHED.get();
      request.input("images").ifPresent(t -> batchSizes.add((int) t.shape()[0]));
      prompts.add(
          request
              .input("prompt")
              .map(t -> String.join("|", new java.util.LinkedHashSet<>(t.toStrings())))
              .orElse(""));
      OipServer.Result r = inner.infer(request);
      Answer a = k >= answerFrom ? answer : Answer.NORMAL;
      double[] s = r.outputs().getFirst().toDoubles();
      int n = s.length;
      return switch (a) {
        case NORMAL -> r;
        case WRONG_SHAPE ->
            result(
                OipTensor.ofFp64("scores", new long[] {n - 1}, java.util.Arrays.copyOf(s, n - 1)));
        case NAN -> {
          s[n - 1] = Double.NaN;
          yield result(OipTensor.ofFp64("scores", new long[] {n}, s));
        }
        case ERROR_200 -> throw new IllegalStateException("answered by the filter");
        case ERROR_400 -> throw new IllegalArgumentException("prompt is too long for the model");
        case FP32_COLUMN -> {
          float[] f = new float[n];
          for (int i = 0; i < n; i++) {
            f[i] = (float) s[i];
          }
          yield result(OipTensor.ofFp32("scores", new long[] {n, 1}, f));
        }
        case NO_SCORES -> result(OipTensor.ofStrings("labels", new long[] {1}, List.of("nothing")));
      };
    }

    private OipServer.Result result(OipTensor t) {
      return new OipServer.Result(List.of(t), Map.of());
    }
  }
}
