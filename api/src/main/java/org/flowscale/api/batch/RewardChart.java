package org.flowscale.api.batch;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import javax.imageio.ImageIO;

/**
 * Mean reward against NFE budget, one line per method with standard-error bars; budgets are evenly
 * spaced and labelled (they usually grow by factors). Plain Java2D, headless.
 */
final class RewardChart {
  private static final Color[] COLORS = {
    new Color(0x1f77b4),
    new Color(0xff7f0e),
    new Color(0x2ca02c),
    new Color(0xd62728),
    new Color(0x9467bd),
    new Color(0x8c564b),
    new Color(0xe377c2),
    new Color(0x777777)
  };
  private static final int W = 560;
  private static final int H = 340;
  private static final int LEFT = 70;
  private static final int TOP = 40;
  private static final int BOTTOM = 50;
  private static final int LEGEND = 170;

  private RewardChart() {}

  /** The chart of the groups that completed anything, as PNG bytes. */
  static byte[] png(List<BatchSummary.Group> all) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<BatchSummary.Group> groups =
        all.stream().filter(g -> g.completed() > 0 && Double.isFinite(g.meanReward())).toList();
    List<Long> budgets =
        new ArrayList<>(new TreeSet<>(groups.stream().map(g -> g.maxNfe()).toList()));
    List<String> methods =
        new ArrayList<>(new LinkedHashSet<>(groups.stream().map(g -> g.method()).toList()));
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (BatchSummary.Group g : groups) {
      double e = Double.isNaN(g.seReward()) ? 0 : g.seReward();
      lo = Math.min(lo, g.meanReward() - e);
      hi = Math.max(hi, g.meanReward() + e);
    }
    if (!(hi > lo)) {
      lo -= 0.5;
      hi += 0.5;
    }
    double pad = 0.08 * (hi - lo);
    lo -= pad;
    hi += pad;

    int width = LEFT + W + LEGEND;
    int height = TOP + H + BOTTOM;
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, width, height);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      g.setColor(Color.BLACK);
      g.drawString("reward (mean +- standard error) against NFE budget", LEFT, TOP - 16);
      g.drawRect(LEFT, TOP, W, H);
      for (int t = 0; t <= 4; t++) {
        double v = lo + (hi - lo) * t / 4;
        int y = y(v, lo, hi);
        g.setColor(new Color(0xdddddd));
        g.drawLine(LEFT + 1, y, LEFT + W - 1, y);
        g.setColor(Color.DARK_GRAY);
        g.drawString(String.format(Locale.ROOT, "%.3g", v), 8, y + 4);
      }
      for (int i = 0; i < budgets.size(); i++) {
        String label = budgets.get(i) + " NFE";
        int x = x(i, budgets.size());
        g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, TOP + H + 18);
      }
      g.setStroke(new BasicStroke(2f));
      for (int m = 0; m < methods.size(); m++) {
        g.setColor(COLORS[m % COLORS.length]);
        int px = -1;
        int py = -1;
        for (int i = 0; i < budgets.size(); i++) {
          BatchSummary.Group c = find(groups, methods.get(m), budgets.get(i));
          if (c == null) {
            continue;
          }
          int cx = x(i, budgets.size()) + (m - methods.size() / 2) * 3;
          int cy = y(c.meanReward(), lo, hi);
          if (!Double.isNaN(c.seReward())) {
            g.drawLine(
                cx,
                y(c.meanReward() - c.seReward(), lo, hi),
                cx,
                y(c.meanReward() + c.seReward(), lo, hi));
          }
          g.fillOval(cx - 4, cy - 4, 9, 9);
          if (px >= 0) {
            g.drawLine(px, py, cx, cy);
          }
          px = cx;
          py = cy;
        }
        g.fillRect(LEFT + W + 16, TOP + 6 + m * 20, 14, 10);
        g.setColor(Color.BLACK);
        g.drawString(methods.get(m), LEFT + W + 36, TOP + 16 + m * 20);
      }
    } finally {
      g.dispose();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (!ImageIO.write(img, "png", out)) {
      throw new IOException("no PNG writer available in javax.imageio");
    }
    return out.toByteArray();
  }

  private static BatchSummary.Group find(List<BatchSummary.Group> gs, String method, long budget) {
    for (BatchSummary.Group g : gs) {
      if (g.method().equals(method) && g.maxNfe() == budget) {
        return g;
      }
    }
    return null;
  }

  private static int x(int i, int n) {
    return LEFT + (int) Math.round(W * (i + 0.5) / n);
  }

  private static int y(double v, double lo, double hi) {
    return TOP + H - (int) Math.round(H * (v - lo) / (hi - lo));
  }
}
