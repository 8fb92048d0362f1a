package org.flowscale.rewards.remote;

import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.rewards.oip.OipClient;
import org.flowscale.rewards.oip.OipException;

/**
 * {@code reward_score: remote}: a reward computed by an inference server speaking the Open
 * Inference Protocol (KServe v2 / Triton HTTP with the binary tensor data extension), such as the
 * reference servers in {@code tools/rewards/} or the toy server ({@link
 * org.flowscale.rewards.toy.ToyRewardServer}). Its keys are {@link RemoteSettings}'.
 *
 * <p>Loading makes the HTTP client (one connection pool), reads the bearer token from the
 * environment variable {@code reward_token_env} names, and asks the server whether it and the model
 * are ready, so a server that is down is reported before any NFE is spent. The samples must be
 * images: the {@link SampleSpace} must have an image form, whose size is what the server is sent.
 */
public final class RemoteRewardFactory implements RewardFactory {
  private final UnaryOperator<String> environment;

  /**
   * The factory {@link java.util.ServiceLoader} makes: tokens come from the process environment.
   */
  public RemoteRewardFactory() {
    this(System::getenv);
  }

  /** A factory reading environment variables through {@code environment} (tests). */
  public RemoteRewardFactory(UnaryOperator<String> environment) {
    this.environment = environment;
  }

  @Override
  public Set<String> names() {
    return Set.of("remote");
  }

  @Override
  public Set<String> keys() {
    return RemoteSettings.KEYS;
  }

  /**
   * @throws IllegalArgumentException naming a bad setting, a missing token variable, samples that
   *     are not images, or a server that refuses the token or lacks the model (4xx)
   * @throws OipException when the server is not reachable or not ready ({@link
   *     OipException.Transient}: it may be later)
   */
  @Override
  public RewardModel load(String name, Map<String, Object> settings, SampleSpace space) {
    if (!names().contains(name)) {
      throw new IllegalArgumentException(
          "reward_score: this factory makes 'remote', not '" + name + "'");
    }
    RemoteSettings s = RemoteSettings.parse(settings == null ? Map.of() : settings);
    ImageDecoder images =
        (space == null ? java.util.Optional.<ImageDecoder>empty() : space.imageDecoder())
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "reward 'remote' sends images to its server, but "
                            + (space == null
                                ? "no model was given to say their size"
                                : "the model's samples have no image form")));
    String token = token(s.tokenEnv());
    OipClient client =
        new OipClient(s.url(), new OipClient.Options(s.timeout(), s.retries(), s.backoff(), token));
    try {
      client.checkReady(s.model());
    } catch (OipException e) {
      client.close();
      String message =
          "reward server "
              + client.base()
              + " cannot serve model '"
              + s.model()
              + "': "
              + e.getMessage()
              + hint(e);
      if (e.status() >= 400 && e.status() < 500 && e.status() != 429) {
        // The server answered: the config names a model it lacks or a token it refuses.
        throw new IllegalArgumentException(message, e);
      }
      throw e.withMessage(message);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
    return new RemoteRewardModel(s, client, images.height(), images.width());
  }

  private static String hint(OipException e) {
    return switch (e.status()) {
      case 0 -> " (is it started? check " + RemoteSettings.URL + ")";
      case 401, 403 -> " (check the token in " + RemoteSettings.TOKEN_ENV + "'s variable)";
      case 404 -> " (check " + RemoteSettings.MODEL + " and " + RemoteSettings.URL + ")";
      default -> "";
    };
  }

  private String token(String variable) {
    if (variable == null) {
      return null;
    }
    String t = environment.apply(variable);
    if (t == null || t.isBlank()) {
      throw new IllegalArgumentException(
          RemoteSettings.TOKEN_ENV
              + " names the environment variable "
              + variable
              + ", but it is "
              + (t == null ? "not set" : "empty"));
    }
    t = t.strip();
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException(
            "the token in "
                + variable
                + " holds a character not allowed in an HTTP header (position "
                + i
                + ")");
      }
    }
    return t;
  }
}
