package org.flowscale.api.batch;

/** RFC 4180 CSV fields. */
final class Csv {
  private Csv() {}

  /** A text field, quoted when it holds a comma, a quote or a line break. */
  static String field(String s) {
    if (s == null) {
      return "";
    }
    if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
      return s;
    }
    return '"' + s.replace("\"", "\"\"") + '"';
  }

  /** A number written exactly (Java's shortest round-trip form), empty when not finite. */
  static String number(double v) {
    return Double.isFinite(v) ? Double.toString(v) : "";
  }
}
