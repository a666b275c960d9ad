package io.rollout.env.sokoban;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SokobanRendererTest {

    @Test
    void shouldRenderEverySymbolInTheExactVerlAgentFormat() {
        // 4x6 room: player on a target, a box on a target, two boxes off target, an empty target.
        boolean[] walls = new boolean[24];
        for (int cell = 0; cell < 24; cell++) {
            int r = cell / 6;
            int c = cell % 6;
            walls[cell] = r == 0 || r == 3 || c == 0 || c == 5;
        }
        SokobanLevel level = SokobanLevel.of(4, 6, walls,
                new int[] {7, 8, 14}, new int[] {8, 9, 16}, 7);

        assertThat(SokobanRenderer.render(level)).isEqualTo(
                " # \t # \t # \t # \t # \t # \t\n"
                        + " # \t S \t √ \t X \t _ \t # \t\n"
                        + " # \t _ \t O \t _ \t X \t # \t\n"
                        + " # \t # \t # \t # \t # \t # \t");
    }

    @Test
    void shouldParseARenderedLevelBackToTheSameLevel() {
        SokobanLevel level = SokobanLevel.parse("""
                ######
                #S√X_#
                #_O_X#
                ######
                """);

        assertThat(SokobanLevel.parse(SokobanRenderer.render(level))).isEqualTo(level);
        assertThat(level.player()).isEqualTo(7);
        assertThat(level.boxes()).containsExactly(8, 9, 16);
        assertThat(level.targets()).containsExactly(7, 8, 14);
    }

    @Test
    void shouldRejectALevelWithoutABorderWall() {
        assertThatThrownBy(() -> SokobanLevel.parse("""
                #####
                #PXO_
                #####
                """)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("border");
    }

    @Test
    void shouldRejectALevelWithMoreBoxesThanTargets() {
        assertThatThrownBy(() -> SokobanLevel.parse("""
                ######
                #PXXO#
                ######
                """)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("targets");
    }
}
