package io.rollout.deploy.local;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.DoubleSummaryStatistics;
import java.util.List;
import java.util.Objects;
import java.util.stream.DoubleStream;
import java.util.stream.LongStream;
import javax.imageio.ImageIO;

/**
 * A small line chart written as PNG with Java2D, headless and without dependencies: a title, labelled axes with about
 * five "nice" ticks each, one line with point markers per series, dashed horizontal reference lines, and a legend.
 * Used for the local run's report charts such as "success rate per version".
 *
 * <p>Configure with the chainable methods, then {@link #writePng}. Series take their colors from {@link #PALETTE} in
 * the order they are added, references from {@link #REFERENCE_PALETTE}; both cycle. Mutable and not thread-safe.
 */
public final class LineChart {

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** Series colors in order of addition: blue, orange, green, red, purple, brown. */
    static final List<Color> PALETTE = List.of(new Color(31, 119, 180), new Color(255, 127, 14),
            new Color(44, 160, 44), new Color(214, 39, 40), new Color(148, 103, 189), new Color(140, 86, 75));
    /** Reference line colors in order of addition: olive, cyan, pink. */
    static final List<Color> REFERENCE_PALETTE =
            List.of(new Color(188, 189, 34), new Color(23, 190, 207), new Color(227, 119, 194));

    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final Font TITLE_FONT = FONT.deriveFont(Font.BOLD, 14f);
    private static final Color AXIS = Color.DARK_GRAY;
    private static final Color GRID = new Color(232, 232, 232);
    private static final Stroke SOLID = new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    private static final Stroke DASHED =
            new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);
    private static final double MARKER_RADIUS = 3.5;
    private static final int PAD = 8;
    private static final int TICK = 4;

    private record Series(double[] x, double[] y, Color color) {}

    private record Reference(double y, Color color) {}

    /** A legend line; {@code dashed} for a reference, else a series (drawn with a marker). */
    private record Key(String name, Color color, boolean dashed) {}

    private final String title;
    private String xLabel = "";
    private String yLabel = "";
    private double[] fixedYRange;
    private final List<Series> series = new ArrayList<>();
    private final List<Reference> references = new ArrayList<>();
    private final List<Key> keys = new ArrayList<>();

    private LineChart(String title) {
        this.title = Objects.requireNonNull(title, "title");
    }

    /** Starts a chart whose title is drawn centered at the top (empty for none). */
    public static LineChart titled(String title) {
        return new LineChart(title);
    }

    /** Sets the label drawn below the x axis. */
    public LineChart xLabel(String label) {
        this.xLabel = Objects.requireNonNull(label, "label");
        return this;
    }

    /** Sets the label drawn, rotated, left of the y axis. */
    public LineChart yLabel(String label) {
        this.yLabel = Objects.requireNonNull(label, "label");
        return this;
    }

    /**
     * Fixes the y axis to {@code min..max} (such as 0..1 for rates); lines outside are clipped. Without it the axis
     * spans the finite y values and the reference lines, padded 5% each side; when they are all equal it is that value
     * ±1, or 0..1 when the value is 0.
     *
     * @throws IllegalArgumentException unless both are finite and {@code min < max}
     */
    public LineChart yRange(double min, double max) {
        if (!(Double.isFinite(min) && Double.isFinite(max) && min < max)) {
            throw new IllegalArgumentException("y range needs finite min < max, got " + min + ".." + max);
        }
        this.fixedYRange = new double[] {min, max};
        return this;
    }

    /**
     * Adds a line with a marker at each point, in the next {@link #PALETTE} color. A point whose x or y is not finite
     * (such as a NaN y) is skipped, leaving a gap in the line. The arrays are copied.
     *
     * @throws IllegalArgumentException naming the series when {@code x} and {@code y} differ in length
     */
    public LineChart series(String name, double[] x, double[] y) {
        Objects.requireNonNull(name, "name");
        if (x.length != y.length) {
            throw new IllegalArgumentException(
                    "series '" + name + "' has " + x.length + " x values but " + y.length + " y values");
        }
        Color color = PALETTE.get(series.size() % PALETTE.size());
        series.add(new Series(x.clone(), y.clone(), color));
        keys.add(new Key(name, color, false));
        return this;
    }

    /**
     * Adds a dashed horizontal line at {@code y} across the plot, in the legend as {@code name}.
     *
     * @throws IllegalArgumentException when {@code y} is not finite
     */
    public LineChart reference(String name, double y) {
        if (!Double.isFinite(y)) {
            throw new IllegalArgumentException("reference '" + name + "' needs a finite y, got " + y);
        }
        Color color = REFERENCE_PALETTE.get(references.size() % REFERENCE_PALETTE.size());
        references.add(new Reference(y, color));
        keys.add(new Key(Objects.requireNonNull(name, "name"), color, true));
        return this;
    }

    /** Renders the chart at {@code width x height} pixels and writes it as PNG, creating missing parent directories. */
    public void writePng(Path file, int width, int height) throws IOException {
        BufferedImage image = render(width, height);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer available for " + file);
        }
    }

    /** Renders the chart into a new white {@code TYPE_INT_RGB} image of {@code width x height} pixels. */
    public BufferedImage render(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setFont(FONT);
            double[] xr = range(series.stream().flatMapToDouble(s -> Arrays.stream(s.x)), false);
            double[] yr = fixedYRange != null ? fixedYRange : range(DoubleStream.concat(
                    series.stream().flatMapToDouble(s -> Arrays.stream(s.y)),
                    references.stream().mapToDouble(Reference::y)), true);
            Rectangle plot = drawFrame(g, width, height, xr, yr);
            if (!drawLines(g, plot, xr, yr)) {
                int textWidth = g.getFontMetrics().stringWidth("no data");
                g.setColor(AXIS);
                g.drawString("no data", plot.x + (plot.width - textWidth) / 2, plot.y + plot.height / 2);
            }
            if (!keys.isEmpty() && !(series.size() == 1 && references.isEmpty())) {
                drawLegend(g, plot);
            }
        } finally {
            g.dispose();
        }
        return image;
    }

    /** Draws title, axes, ticks, grid and axis labels around the plot area, and returns that area. */
    private Rectangle drawFrame(Graphics2D g, int width, int height, double[] xr, double[] yr) {
        double[] xTicks = ticks(xr[0], xr[1]);
        double[] yTicks = ticks(yr[0], yr[1]);
        FontMetrics fm = g.getFontMetrics();
        int line = fm.getHeight();
        int yTickWidth = Arrays.stream(yTicks).mapToInt(v -> fm.stringWidth(format(v))).max().orElse(0);
        int left = PAD + (yLabel.isEmpty() ? 0 : line + PAD / 2) + yTickWidth + TICK + 2;
        int right = width - PAD - fm.stringWidth(format(xTicks[xTicks.length - 1])) / 2;
        int top = title.isEmpty() ? PAD + line / 2 : 2 * PAD + line;
        int bottom = height - PAD - line - TICK - 2 - (xLabel.isEmpty() ? 0 : line + PAD / 2);
        Rectangle plot = new Rectangle(left, top, Math.max(1, right - left), Math.max(1, bottom - top));
        int xAxis = plot.y + plot.height;
        for (double v : yTicks) {
            int y = (int) Math.round(map(v, yr, xAxis, plot.y));
            g.setColor(GRID);
            g.drawLine(plot.x + 1, y, plot.x + plot.width, y);
            g.setColor(AXIS);
            g.drawLine(plot.x - TICK, y, plot.x, y);
            g.drawString(format(v), plot.x - TICK - 2 - fm.stringWidth(format(v)), y + fm.getAscent() / 2 - 1);
        }
        for (double v : xTicks) {
            int x = (int) Math.round(map(v, xr, plot.x, plot.x + plot.width));
            g.setColor(GRID);
            g.drawLine(x, plot.y, x, xAxis - 1);
            g.setColor(AXIS);
            g.drawLine(x, xAxis, x, xAxis + TICK);
            g.drawString(format(v), x - fm.stringWidth(format(v)) / 2, xAxis + TICK + 1 + fm.getAscent());
        }
        g.drawLine(plot.x, plot.y, plot.x, xAxis);
        g.drawLine(plot.x, xAxis, plot.x + plot.width, xAxis);
        g.drawString(xLabel, plot.x + (plot.width - fm.stringWidth(xLabel)) / 2, height - PAD - fm.getDescent());
        Graphics2D rotated = (Graphics2D) g.create();
        rotated.rotate(-Math.PI / 2);
        rotated.drawString(yLabel, -(plot.y + (plot.height + fm.stringWidth(yLabel)) / 2), PAD + fm.getAscent());
        rotated.dispose();
        g.setFont(TITLE_FONT);
        g.drawString(title, (width - g.getFontMetrics().stringWidth(title)) / 2, PAD + g.getFontMetrics().getAscent());
        g.setFont(FONT);
        return plot;
    }

    /** Draws the reference lines, then the series with their markers; returns whether any point was drawn. */
    private boolean drawLines(Graphics2D outer, Rectangle plot, double[] xr, double[] yr) {
        Graphics2D g = (Graphics2D) outer.create();
        int margin = (int) Math.ceil(MARKER_RADIUS) + 1;
        g.clipRect(plot.x - margin, plot.y - margin, plot.width + 2 * margin, plot.height + 2 * margin);
        g.setStroke(DASHED);
        for (Reference r : references) {
            double y = map(r.y, yr, plot.y + plot.height, plot.y);
            g.setColor(r.color);
            g.draw(new Line2D.Double(plot.x, y, plot.x + plot.width, y));
        }
        g.setStroke(SOLID);
        boolean anyPoint = false;
        for (Series s : series) {
            Path2D.Double path = new Path2D.Double();
            boolean previous = false;
            g.setColor(s.color);
            for (int i = 0; i < s.x.length; i++) {
                boolean drawn = Double.isFinite(s.x[i]) && Double.isFinite(s.y[i]);
                if (drawn) {
                    double x = map(s.x[i], xr, plot.x, plot.x + plot.width);
                    double y = map(s.y[i], yr, plot.y + plot.height, plot.y);
                    if (previous) {
                        path.lineTo(x, y);
                    } else {
                        path.moveTo(x, y);
                    }
                    g.fill(marker(x, y));
                }
                previous = drawn;
                anyPoint |= drawn;
            }
            g.draw(path);
        }
        g.dispose();
        return anyPoint;
    }

    /** Draws the legend box in the plot's top-left corner: a line swatch (with marker for series) and the name. */
    private void drawLegend(Graphics2D g, Rectangle plot) {
        FontMetrics fm = g.getFontMetrics();
        int line = fm.getHeight();
        int swatch = 24;
        int textWidth = keys.stream().mapToInt(k -> fm.stringWidth(k.name)).max().orElse(0);
        int x = plot.x + PAD;
        int y = plot.y + PAD;
        g.setColor(Color.WHITE);
        g.fillRect(x, y, PAD + swatch + textWidth + PAD / 2, keys.size() * line + PAD);
        g.setColor(Color.LIGHT_GRAY);
        g.drawRect(x, y, PAD + swatch + textWidth + PAD / 2, keys.size() * line + PAD);
        for (int i = 0; i < keys.size(); i++) {
            Key key = keys.get(i);
            int cy = y + PAD / 2 + i * line + line / 2;
            g.setColor(key.color);
            g.setStroke(key.dashed ? DASHED : SOLID);
            g.draw(new Line2D.Double(x + PAD / 2.0, cy, x + PAD / 2.0 + swatch, cy));
            if (!key.dashed) {
                g.fill(marker(x + PAD / 2.0 + swatch / 2.0, cy));
            }
            g.setColor(AXIS);
            g.drawString(key.name, x + PAD + swatch, cy + fm.getAscent() / 2 - 1);
        }
    }

    private static Ellipse2D marker(double x, double y) {
        return new Ellipse2D.Double(x - MARKER_RADIUS, y - MARKER_RADIUS, 2 * MARKER_RADIUS, 2 * MARKER_RADIUS);
    }

    /** Maps {@code v} linearly from the data range onto {@code from..to} pixels (reversed for y). */
    private static double map(double v, double[] range, double from, double to) {
        return from + (v - range[0]) / (range[1] - range[0]) * (to - from);
    }

    /**
     * The finite values' min..max, 0..1 without any. For x, equal values widen to ±1; for y, to ±1 or 0..1 at 0, and
     * an actual span is padded 5% each side.
     */
    private static double[] range(DoubleStream values, boolean forY) {
        DoubleSummaryStatistics stats = values.filter(Double::isFinite).summaryStatistics();
        double min = stats.getMin();
        double max = stats.getMax();
        if (stats.getCount() == 0) {
            return new double[] {0, 1};
        } else if (min == max) {
            return forY && min == 0 ? new double[] {0, 1} : new double[] {min - 1, max + 1};
        }
        double margin = forY ? (max - min) * 0.05 : 0;
        return new double[] {min - margin, max + margin};
    }

    /** The multiples inside {@code min..max} of the 1, 2 or 5 × 10^k step that gives closest to five of them. */
    static double[] ticks(double min, double max) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(max - min)) - 1);
        double[] best = {};
        for (double m : new double[] {1, 2, 5, 10, 20, 50}) {
            double step = m * magnitude;
            double[] ticks = LongStream.rangeClosed((long) Math.ceil(min / step - 1e-9),
                            (long) Math.floor(max / step + 1e-9))
                    .mapToDouble(k -> k * step)
                    .toArray();
            if (Math.abs(ticks.length - 5) < Math.abs(best.length - 5)) {
                best = ticks;
            }
        }
        return best;
    }

    /** A compact tick label: integers without decimals, else 3 significant digits; k, M, G from a thousand up. */
    static String format(double v) {
        int thousands = 0;
        while (Math.abs(v) >= 1000 && thousands < 3) {
            v /= 1000;
            thousands++;
        }
        String number = v == Math.rint(v) ? Long.toString((long) v)
                : BigDecimal.valueOf(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
        return number + List.of("", "k", "M", "G").get(thousands);
    }
}
