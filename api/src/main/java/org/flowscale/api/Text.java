package org.flowscale.api;

/**
 * Formats user input and error messages for one-line reports: quoted, control characters escaped,
 * bounded in length. Used by flowscale's command line; handy for callers that print its errors.
 */
public final class Text {
  private static final int MAX = 80;

  private Text() {}

  /**
   * {@code s} in single quotes with control characters escaped and long input cut, so that echoing
   * any user input keeps an error message on one readable line.
   *
   * @param s any text (may be null)
   * @return the quoted text ({@code null} for null)
   */
  public static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder("'");
    int n = 0;
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      if (n++ >= MAX) {
        b.append("...");
        break;
      }
      switch (cp) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\\' -> b.append("\\\\");
        default -> {
          if (Character.isISOControl(cp) || !Character.isDefined(cp) || isFormatOrSeparator(cp)) {
            b.append(String.format("\\u%04x", cp));
          } else {
            b.appendCodePoint(cp);
          }
        }
      }
    }
    return b.append('\'').toString();
  }

  private static boolean isFormatOrSeparator(int cp) {
    int type = Character.getType(cp);
    return type == Character.FORMAT
        || type == Character.LINE_SEPARATOR
        || type == Character.PARAGRAPH_SEPARATOR
        || type == Character.SURROGATE
        || type == Character.PRIVATE_USE;
  }

  /**
   * {@return a message made safe for one line} Line breaks (exception messages may hold them)
   * become {@code "; "}.
   *
   * @param s a message (may be null)
   */
  public static String oneLine(String s) {
    if (s == null || s.isBlank()) {
      return "(no message)";
    }
    return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ");
  }
}
