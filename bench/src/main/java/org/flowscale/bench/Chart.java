package org.flowscale.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The paper table as a PNG: one panel per (prompt set, sampling mode), mean reward against NFE
 * budget, one line per method with standard-error bars. Plain Java2D, headless.
 */
final class Chart {
  private static final Color[] COLORS = {
    new Color(0x777777),
    new Color(0x1f77b4),
    new Color(0xff7f0e),
    new Color(0x2ca02c),
    new Color(0x9467bd),
    new Color(0xd62728),
    new Color(0x8c564b),
    new Color(0xe377c2),
    new Color(0x17becf),
    new Color(0xbcbd22)
  };
  private static final int PANEL_W = 360;
  private static final int PANEL_H = 260;
  private static final int MARGIN = 50;

  private Chart() {}

  static void write(
      List<PaperTable.Cell> cells, List<PaperTable.PromptSet> sets, long[] budgets, Path file)
      throws IOException {
    System.setProperty("java.awt.headless", "true");
    int cols = PaperTable.MODES.size();
    int width = cols * (PANEL_W + MARGIN) + MARGIN + 130;
    int height = sets.size() * (PANEL_H + 2 * MARGIN) + MARGIN;
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, height);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    for (int s = 0; s < sets.size(); s++) {
      String set = sets.get(s).reward();
      double lo = Double.POSITIVE_INFINITY;
      double hi = Double.NEGATIVE_INFINITY;
      for (PaperTable.Cell c : cells) {
        if (c.set().equals(set)) {
          double e = Double.isNaN(c.se()) ? 0 : c.se();
          lo = Math.min(lo, c.mean() - e);
          hi = Math.max(hi, c.mean() + e);
        }
      }
      if (!(hi > lo)) {
        hi = lo + 1;
      }
      double pad = 0.05 * (hi - lo);
      lo -= pad;
      hi += pad;
      for (int m = 0; m < cols; m++) {
        String mode = PaperTable.MODES.get(m).label();
        int x0 = MARGIN + m * (PANEL_W + MARGIN);
        int y0 = MARGIN + s * (PANEL_H + 2 * MARGIN);
        panel(g, cells, set, mode, budgets, x0, y0, lo, hi);
      }
    }
    int lx = width - 130;
    for (int r = 0; r < PaperTable.ROWS.size(); r++) {
      g.setColor(COLORS[r % COLORS.length]);
      g.fillRect(lx, MARGIN + r * 20, 14, 10);
      g.setColor(Color.BLACK);
      g.drawString(PaperTable.ROWS.get(r), lx + 20, MARGIN + r * 20 + 10);
    }
    g.dispose();
    ImageIO.write(img, "png", file.toFile());
  }

  private static void panel(
      Graphics2D g,
      List<PaperTable.Cell> cells,
      String set,
      String mode,
      long[] budgets,
      int x0,
      int y0,
      double lo,
      double hi) {
    g.setColor(Color.BLACK);
    g.drawRect(x0, y0, PANEL_W, PANEL_H);
    g.drawString(set + " - " + mode, x0, y0 - 8);
    for (int t = 0; t <= 4; t++) {
      double v = lo + (hi - lo) * t / 4;
      int y = y(v, y0, lo, hi);
      g.setColor(new Color(0xdddddd));
      g.drawLine(x0 + 1, y, x0 + PANEL_W - 1, y);
      g.setColor(Color.DARK_GRAY);
      g.drawString(String.format(Locale.ROOT, "%.2f", v), x0 - 45, y + 4);
    }
    for (int i = 0; i < budgets.length; i++) {
      g.drawString(budgets[i] + " NFE", x(i, budgets.length, x0) - 18, y0 + PANEL_H + 16);
    }
    g.setStroke(new BasicStroke(2f));
    for (int r = 0; r < PaperTable.ROWS.size(); r++) {
      g.setColor(COLORS[r % COLORS.length]);
      int px = -1;
      int py = -1;
      for (int i = 0; i < budgets.length; i++) {
        PaperTable.Cell c = PaperTable.find(cells, set, PaperTable.ROWS.get(r), mode, budgets[i]);
        if (c == null) {
          continue;
        }
        int cx = x(i, budgets.length, x0) + (r - PaperTable.ROWS.size() / 2) * 3;
        int cy = y(c.mean(), y0, lo, hi);
        if (!Double.isNaN(c.se())) {
          g.drawLine(cx, y(c.mean() - c.se(), y0, lo, hi), cx, y(c.mean() + c.se(), y0, lo, hi));
        }
        g.fillOval(cx - 3, cy - 3, 7, 7);
        if (px >= 0) {
          g.drawLine(px, py, cx, cy);
        }
        px = cx;
        py = cy;
      }
    }
    g.setStroke(new BasicStroke(1f));
  }

  private static int x(int i, int n, int x0) {
    return x0 + (int) Math.round(PANEL_W * (i + 0.5) / n);
  }

  private static int y(double v, int y0, double lo, double hi) {
    return y0 + PANEL_H - (int) Math.round(PANEL_H * (v - lo) / (hi - lo));
  }
}
