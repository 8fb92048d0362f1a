package org.flowscale.engine.search;

/** The one-sided paired sign test: do the {@code a} values beat their paired {@code b} values? */
final class PairedSignTest {
  private PairedSignTest() {}

  /**
   * The exact p-value of {@code wins} or more wins among the untied pairs under the null hypothesis
   * that each untied pair is a fair coin: {@code P(Binomial(n, 1/2) >= wins)}.
   */
  static double pValue(double[] a, double[] b) {
    int wins = 0;
    int n = 0;
    for (int i = 0; i < a.length; i++) {
      if (a[i] != b[i]) {
        n++;
        if (a[i] > b[i]) {
          wins++;
        }
      }
    }
    double p = 0;
    for (int k = wins; k <= n; k++) {
      p += Math.exp(logChoose(n, k) - n * Math.log(2));
    }
    return n == 0 ? 1 : Math.min(1, p);
  }

  private static double logChoose(int n, int k) {
    double s = 0;
    for (int i = 1; i <= k; i++) {
      s += Math.log(n - k + i) - Math.log(i);
    }
    return s;
  }

  static double mean(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s / v.length;
  }
}
