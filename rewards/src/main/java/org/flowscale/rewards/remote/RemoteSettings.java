package org.flowscale.rewards.remote;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.flowscale.engine.model.FactorySettings;

/**
 * The settings of {@code reward_score: remote}, read and checked.
 *
 * @param url {@code reward_url}: the server's base URL (required)
 * @param model {@code reward_model}: the served model's name (required)
 * @param timeout {@code reward_timeout_s}: one request's limit, answer included (default 60 s)
 * @param retries {@code reward_retries}: how often a timed-out or 5xx request is sent again
 *     (default 3)
 * @param backoff {@code reward_backoff_s}: the wait before the first retry, doubled each time
 *     (default 0.5 s)
 * @param batchSize {@code reward_batch_size}: images per request (default 16)
 * @param tokenEnv {@code reward_token_env}: the environment variable holding a bearer token, or
 *     null for none; the token itself is never part of the settings
 * @param imageDtype {@code reward_image_dtype}: how images are sent (default {@code uint8})
 */
public record RemoteSettings(
    URI url,
    String model,
    Duration timeout,
    int retries,
    Duration backoff,
    int batchSize,
    String tokenEnv,
    ImageDtype imageDtype) {

  public static final String URL = "reward_url";
  public static final String MODEL = "reward_model";
  public static final String TIMEOUT = "reward_timeout_s";
  public static final String RETRIES = "reward_retries";
  public static final String BACKOFF = "reward_backoff_s";
  public static final String BATCH_SIZE = "reward_batch_size";
  public static final String TOKEN_ENV = "reward_token_env";
  public static final String IMAGE_DTYPE = "reward_image_dtype";

  /** Every key, for {@link org.flowscale.engine.model.RewardFactory#keys()}. */
  public static final Set<String> KEYS =
      Set.of(URL, MODEL, TIMEOUT, RETRIES, BACKOFF, BATCH_SIZE, TOKEN_ENV, IMAGE_DTYPE);

  static final double DEFAULT_TIMEOUT_S = 60;
  static final int DEFAULT_RETRIES = 3;
  static final double DEFAULT_BACKOFF_S = 0.5;
  static final int DEFAULT_BATCH_SIZE = 16;

  /** How images travel: 8-bit as the protocol says, or unquantised floats. */
  public enum ImageDtype {
    /** UINT8 {@code [N, H, W, 3]}, {@code round((x + 1) / 2 * 255)} clamped. */
    UINT8,
    /** FP32 {@code [N, H, W, 3]}, the reward's input in [-1, 1] unchanged. */
    FP32;

    /** The config spelling. */
    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Reads the settings.
   *
   * @throws IllegalArgumentException naming the key that is missing or bad
   */
  public static RemoteSettings parse(Map<String, Object> s) {
    FactorySettings.checkKeys(s, KEYS, "reward 'remote'");
    URI url = url(requiredText(s, URL, "the reward server's base URL, e.g. http://127.0.0.1:8000"));
    String model = requiredText(s, MODEL, "the served model's name, e.g. vqascore");
    double timeout = FactorySettings.number(s, TIMEOUT, DEFAULT_TIMEOUT_S, 0, true, 86_400);
    int retries = (int) FactorySettings.integer(s, RETRIES, DEFAULT_RETRIES, 0, 100);
    double backoff = FactorySettings.number(s, BACKOFF, DEFAULT_BACKOFF_S, 0, false, 600);
    int batch = (int) FactorySettings.integer(s, BATCH_SIZE, DEFAULT_BATCH_SIZE, 1, 1 << 20);
    String tokenEnv = optionalText(s, TOKEN_ENV);
    if (tokenEnv != null && !tokenEnv.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException(
          TOKEN_ENV
              + " must name an environment variable (letters, digits, _), got '"
              + tokenEnv
              + "'; the token itself never goes in a config");
    }
    String dtype = optionalText(s, IMAGE_DTYPE);
    ImageDtype imageDtype = ImageDtype.UINT8;
    if (dtype != null) {
      try {
        imageDtype = ImageDtype.valueOf(dtype.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            IMAGE_DTYPE + " must be uint8 or fp32, got '" + dtype + "'");
      }
    }
    return new RemoteSettings(
        url,
        model,
        Duration.ofNanos(Math.round(timeout * 1e9)),
        retries,
        Duration.ofNanos(Math.round(backoff * 1e9)),
        batch,
        tokenEnv,
        imageDtype);
  }

  private static URI url(String text) {
    URI u;
    try {
      u = new URI(text.strip());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(URL + " is not a URL: '" + text + "'");
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException(
          URL + " must start with http:// or https://, got '" + text + "'");
    }
    if (u.getHost() == null) {
      throw new IllegalArgumentException(URL + " has no host: '" + text + "'");
    }
    if (u.getRawUserInfo() != null) {
      throw new IllegalArgumentException(
          URL
              + " must not hold credentials; put a token in an environment variable and name it"
              + " with "
              + TOKEN_ENV);
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null) {
      throw new IllegalArgumentException(
          URL + " must not have a query or fragment: '" + text + "'");
    }
    return u;
  }

  private static String requiredText(Map<String, Object> s, String key, String what) {
    String v = optionalText(s, key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException(key + " must be set: " + what);
    }
    return v.strip();
  }

  private static String optionalText(Map<String, Object> s, String key) {
    Object v = s == null ? null : s.get(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String str)) {
      throw new IllegalArgumentException(key + " must be text, got " + FactorySettings.describe(v));
    }
    return str;
  }
}
