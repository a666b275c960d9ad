package io.rollout.deploy.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineChartTest {

    private static final double[] VERSIONS = {0, 1, 2, 3, 4};

    @TempDir
    Path dir;

    @Test
    void writesAPngWithBothSeriesAndTheReferenceLineInTheirColors() throws IOException {
        Path file = dir.resolve("charts/success.png");
        LineChart.titled("success rate per version").xLabel("version").yLabel("success rate").yRange(0, 1)
                .series("train", VERSIONS, new double[] {0.1, 0.3, 0.5, 0.6, 0.8})
                .series("eval", VERSIONS, new double[] {0.15, 0.2, 0.45, 0.5, 0.7})
                .reference("initial eval 0.15", 0.15)
                .writePng(file, 640, 400);

        BufferedImage image = ImageIO.read(file.toFile());
        assertThat(image.getWidth()).isEqualTo(640);
        assertThat(image.getHeight()).isEqualTo(400);
        // The legend swatches alone hold under 100 pixels of each color; lines across the plot hold hundreds.
        assertThat(count(image, LineChart.PALETTE.get(0))).isGreaterThan(300);
        assertThat(count(image, LineChart.PALETTE.get(1))).isGreaterThan(300);
        assertThat(count(image, LineChart.REFERENCE_PALETTE.get(0))).isGreaterThan(200);
        assertThat(count(image, LineChart.PALETTE.get(2))).isZero();
    }

    @Test
    void nanValuesLeaveGapsAndStillDrawTheirNeighboursMarkers() {
        int full = count(LineChart.titled("t").series("s", VERSIONS, new double[] {0.1, 0.2, 0.3, 0.4, 0.5})
                .render(400, 300), LineChart.PALETTE.get(0));
        double nan = Double.NaN;
        int gaps = count(LineChart.titled("t").series("s", VERSIONS, new double[] {0.1, nan, 0.3, nan, 0.5})
                .render(400, 300), LineChart.PALETTE.get(0));

        assertThat(gaps).isPositive().isLessThan(full / 2);
    }

    @Test
    void aSinglePointIsDrawnAsAMarker() {
        BufferedImage image =
                LineChart.titled("one").series("s", new double[] {3}, new double[] {0.5}).render(300, 200);

        assertThat(count(image, LineChart.PALETTE.get(0))).isBetween(10, 60);
    }

    @Test
    void mismatchedLengthsAreRejectedNamingTheSeries() {
        assertThatThrownBy(() -> LineChart.titled("t").series("eval", new double[] {1, 2}, new double[] {0.5}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("eval");
    }

    @Test
    void anEmptyChartDrawsAxesAndNoDataText() {
        for (LineChart chart : new LineChart[] {
                LineChart.titled("nothing yet"), LineChart.titled("").series("s", new double[0], new double[0])}) {
            BufferedImage image = chart.render(320, 200);

            assertThat(count(image, Color.WHITE)).isLessThan(320 * 200);
            assertThat(darkPixelsAround(image, 320 / 2 + 15, 200 / 2)).as("'no data' near the middle").isPositive();
        }
    }

    @Test
    void ticksAreNiceAndLabelsCompact() {
        assertThat(Arrays.stream(LineChart.ticks(0, 1)).mapToObj(LineChart::format))
                .containsExactly("0", "0.2", "0.4", "0.6", "0.8", "1");
        assertThat(Arrays.stream(LineChart.ticks(-0.6, 12.6)).mapToObj(LineChart::format))
                .containsExactly("0", "2", "4", "6", "8", "10", "12");
        assertThat(Arrays.stream(LineChart.ticks(0, 3)).mapToObj(LineChart::format))
                .containsExactly("0", "1", "2", "3");
        assertThat(LineChart.format(12000)).isEqualTo("12k");
        assertThat(LineChart.format(1500)).isEqualTo("1.5k");
        assertThat(LineChart.format(2_500_000)).isEqualTo("2.5M");
        assertThat(LineChart.format(0.123456)).isEqualTo("0.123");
        assertThat(LineChart.format(-3)).isEqualTo("-3");
        assertThat(LineChart.format(0.6000000000000001)).isEqualTo("0.6");
    }

    private static int count(BufferedImage image, Color color) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                n += (image.getRGB(x, y) & 0xFFFFFF) == (color.getRGB() & 0xFFFFFF) ? 1 : 0;
            }
        }
        return n;
    }

    private static int darkPixelsAround(BufferedImage image, int cx, int cy) {
        int n = 0;
        for (int y = cy - 15; y < cy + 15; y++) {
            for (int x = cx - 40; x < cx + 40; x++) {
                Color c = new Color(image.getRGB(x, y));
                n += c.getRed() + c.getGreen() + c.getBlue() < 300 ? 1 : 0;
            }
        }
        return n;
    }
}
