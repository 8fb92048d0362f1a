package org.flowscale.api;

import java.util.Collection;
import java.util.Locale;

/** "Did you mean": the nearest known name by edit distance. */
final class Suggest {
  private Suggest() {}

  /**
   * The candidate closest to {@code typed}, or null when none is close enough to be a likely typo:
   * within an edit distance of a third of the name (at least 1), or the only name containing what
   * was typed. Ties go to the first candidate.
   */
  static String nearest(String typed, Collection<String> candidates) {
    String t = typed.toLowerCase(Locale.ROOT).replace('-', '_');
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String c : candidates) {
      int d = distance(t, c.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    if (best == null) {
      return null;
    }
    if (bestDistance <= Math.max(1, t.length() / 3)) {
      return best;
    }
    if (t.length() >= 3) {
      String only = null;
      for (String c : candidates) {
        if (c.toLowerCase(Locale.ROOT).contains(t)) {
          if (only != null) {
            return null;
          }
          only = c;
        }
      }
      return only;
    }
    return null;
  }

  /**
   * Edit distance counting insertions, deletions, substitutions and swaps of neighbours as one edit
   * each (optimal string alignment), by code unit; a swap is the commonest typo.
   */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        int v = Math.min(d[i - 1][j - 1] + cost, Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1));
        if (i > 1
            && j > 1
            && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          v = Math.min(v, d[i - 2][j - 2] + 1);
        }
        d[i][j] = v;
      }
    }
    return d[a.length()][b.length()];
  }
}
