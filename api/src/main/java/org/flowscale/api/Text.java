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

  /**
   * Why a file operation failed, in words a user acts on: {@code permission denied: runs/x}, {@code
   * not a directory: runs}, {@code no space left on device: runs/x/final.png}. Java's file
   * exceptions often carry only the path as their message; wrappers (ImageIO's "I/O error writing
   * PNG file!") are looked through to the file system's error.
   *
   * @param e the failure of a file operation
   * @return the cause in words, with the path when the exception names one
   */
  public static String ioReason(java.io.IOException e) {
    Throwable t = e;
    while (t.getCause() instanceof java.io.IOException inner) {
      t = inner;
    }
    String why =
        switch (t) {
          case java.nio.file.AccessDeniedException a -> "permission denied: " + a.getFile();
          case java.nio.file.NotDirectoryException n -> "not a directory: " + n.getFile();
          case java.nio.file.NoSuchFileException n -> "no such file or directory: " + n.getFile();
          case java.nio.file.FileAlreadyExistsException f ->
              f.getReason() == null
                  ? "already exists (not a directory?): " + f.getFile()
                  : lower(f.getReason()) + ": " + f.getFile();
          case java.nio.file.FileSystemException f when f.getReason() != null ->
              lower(f.getReason()) + ": " + f.getFile();
          default -> t.getMessage() == null ? t.getClass().getSimpleName() : lower(t.getMessage());
        };
    return oneLine(why);
  }

  private static String lower(String s) {
    return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }
}
