package io.rollout.deploy.monitoring;

import com.fasterxml.jackson.databind.JsonNode;
import io.rollout.deploy.local.LineChart;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * The dashboard as Grafana would draw it, for a record of a run where no Grafana runs: every
 * panel's queries over a time range, answered by a live Prometheus ({@code query_range}), drawn
 * as line charts in the dashboard's rows and written as one PNG.
 */
final class DashboardSnapshot {

    private static final int PANEL_W = 420;
    private static final int PANEL_H = 260;
    private static final int COLUMNS = 4;
    private static final int ROW_TITLE_H = 28;
    private static final int MAX_SERIES = 6;
    private static final Pattern LEGEND_LABEL = Pattern.compile("\\{\\{\\s*(\\w+)\\s*}}");

    /** A query range answer to draw: per query, the series with their labels and values. */
    interface Source {
        JsonNode range(String expr, long startSeconds, long endSeconds, int stepSeconds) throws IOException;
    }

    private DashboardSnapshot() {}

    /**
     * Draws {@code dashboard}'s panels over {@code start..end} (Unix seconds), {@code $__rate_interval}
     * taken as {@code rateInterval}, and writes the PNG to {@code file}.
     *
     * @return how many panels had at least one series drawn
     */
    static int write(JsonNode dashboard, Source prometheus, long start, long end, String rateInterval, Path file)
            throws IOException {
        List<Object> layout = new ArrayList<>(); // a row title (String) or a panel image
        int drawn = 0;
        for (JsonNode panel : dashboard.get("panels")) {
            if ("row".equals(panel.get("type").asText())) {
                layout.add(panel.get("title").asText());
                continue;
            }
            LineChart chart = LineChart.titled(panel.get("title").asText()).xLabel("seconds");
            int lines = 0;
            int more = 0;
            for (JsonNode target : panel.get("targets")) {
                String expr = query(target, rateInterval);
                JsonNode result = prometheus.range(expr, start, end, 1).get("data").get("result");
                for (JsonNode series : result) {
                    if (lines == MAX_SERIES) {
                        more++;
                        continue;
                    }
                    JsonNode values = series.get("values");
                    double[] x = new double[values.size()];
                    double[] y = new double[values.size()];
                    for (int i = 0; i < values.size(); i++) {
                        x[i] = values.get(i).get(0).asDouble() - start;
                        y[i] = parse(values.get(i).get(1).asText());
                    }
                    chart.series(legend(target.path("legendFormat").asText(""), series.get("metric")), x, y);
                    lines++;
                }
            }
            if (more > 0) {
                chart.yLabel("+" + more + " series not drawn");
            }
            drawn += lines > 0 ? 1 : 0;
            layout.add(chart.render(PANEL_W, PANEL_H));
        }
        ImageIO.write(compose(layout), "png", Files.createDirectories(file.toAbsolutePath().getParent())
                .resolve(file.getFileName()).toFile());
        return drawn;
    }

    /** A panel query as Prometheus takes it: Grafana's {@code $__rate_interval} set to {@code rateInterval}. */
    static String query(JsonNode target, String rateInterval) {
        return target.get("expr").asText().replace("$__rate_interval", rateInterval);
    }

    private static double parse(String v) {
        return switch (v) {
            case "NaN", "+Inf", "-Inf" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }

    /** Grafana's legend: {{label}} replaced by the series' label values. */
    static String legend(String format, JsonNode labels) {
        if (format.isEmpty()) {
            List<String> parts = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = labels.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                parts.add(e.getKey() + "=" + e.getValue().asText());
            }
            return String.join(",", parts);
        }
        Matcher m = LEGEND_LABEL.matcher(format);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(labels.path(m.group(1)).asText("")));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Row titles across the width, panels four to a line under them. */
    private static BufferedImage compose(List<Object> layout) {
        record Placed(Object item, int x, int y) {}
        List<Placed> placed = new ArrayList<>();
        int y = 0;
        int column = 0;
        for (Object item : layout) {
            if (item instanceof String) {
                y += column > 0 ? PANEL_H : 0;
                placed.add(new Placed(item, 8, y + ROW_TITLE_H - 8));
                y += ROW_TITLE_H;
                column = 0;
            } else {
                placed.add(new Placed(item, column * PANEL_W, y));
                column++;
                if (column == COLUMNS) {
                    y += PANEL_H;
                    column = 0;
                }
            }
        }
        y += column > 0 ? PANEL_H : 0;
        BufferedImage image = new BufferedImage(PANEL_W * COLUMNS, Math.max(1, y), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.setColor(new Color(40, 40, 40));
        for (Placed p : placed) {
            if (p.item() instanceof String title) {
                g.drawString(title, p.x(), p.y());
            } else {
                g.drawImage((BufferedImage) p.item(), p.x(), p.y(), null);
            }
        }
        g.dispose();
        return image;
    }
}
