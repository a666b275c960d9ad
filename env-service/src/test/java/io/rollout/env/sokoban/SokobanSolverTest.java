package io.rollout.env.sokoban;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SokobanSolverTest {

    private final SokobanSolver solver = new SokobanSolver();

    @Test
    void shouldFindAShortestSolutionCountingEveryPlayerStep() {
        SokobanLevel level = SokobanLevel.parse("""
                #######
                #P_X_O#
                #######
                """);

        assertThat(solver.solve(level, 15)).contains(List.of(Direction.RIGHT, Direction.RIGHT, Direction.RIGHT));
        assertThat(solver.shortestSolutionLength(level, 15)).hasValue(3);
    }

    @Test
    void shouldWalkAroundABoxToPushItTheOtherWay() {
        // The box must go up; the player first walks around to stand below it.
        SokobanLevel level = SokobanLevel.parse("""
                ######
                #_O__#
                #_XP_#
                #____#
                ######
                """);

        assertThat(solver.shortestSolutionLength(level, 15)).hasValue(3);
        assertThat(solver.solve(level, 15)).contains(List.of(Direction.DOWN, Direction.LEFT, Direction.UP));
    }

    @Test
    void shouldReportNothingBeyondTheMoveLimit() {
        SokobanLevel level = SokobanLevel.parse("""
                #######
                #P_X_O#
                #######
                """);

        assertThat(solver.shortestSolutionLength(level, 2)).isEmpty();
        assertThat(solver.solve(level, 2)).isEmpty();
    }

    @Test
    void shouldReportNothingForAnUnsolvableLevel() {
        SokobanLevel boxInCorner = SokobanLevel.parse("""
                ######
                #X__O#
                #__P_#
                ######
                """);

        assertThat(solver.shortestSolutionLength(boxInCorner, 200)).isEmpty();
    }

    @Test
    void shouldSolveTwoBoxesOptimally() {
        SokobanLevel level = SokobanLevel.parse("""
                #######
                #PX_O_#
                #_X_O_#
                #_____#
                #######
                """);

        // R R puts the top box on its target; L L D brings the player behind the lower box; R R.
        assertThat(solver.shortestSolutionLength(level, 30)).hasValue(7);
        assertThat(solver.shortestSolutionLength(level, 6)).isEmpty();
    }
}
