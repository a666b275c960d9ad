package io.rollout.env.sokoban;

/**
 * Renders a level as the text observation verl-agent's Sokoban shows the model: every cell as
 * space, symbol, space, tab; rows joined by {@code \n}, no trailing newline. Keeping the exact
 * format lets results and prompts compare with verl-agent runs.
 */
public final class SokobanRenderer {

    public static final char WALL = '#';
    public static final char FLOOR = '_';
    public static final char TARGET = 'O';
    public static final char BOX_ON_TARGET = '√';
    public static final char BOX = 'X';
    public static final char PLAYER = 'P';
    public static final char PLAYER_ON_TARGET = 'S';

    private SokobanRenderer() {
    }

    public static String render(SokobanLevel level) {
        int rows = level.rows();
        int cols = level.cols();
        StringBuilder out = new StringBuilder(rows * (cols * 4 + 1));
        for (int r = 0; r < rows; r++) {
            if (r > 0) {
                out.append('\n');
            }
            for (int c = 0; c < cols; c++) {
                out.append(' ').append(symbol(level, r * cols + c)).append(" \t");
            }
        }
        return out.toString();
    }

    /** The symbol of one cell. */
    public static char symbol(SokobanLevel level, int cell) {
        if (level.isWall(cell)) {
            return WALL;
        }
        boolean target = level.isTarget(cell);
        if (cell == level.player()) {
            return target ? PLAYER_ON_TARGET : PLAYER;
        }
        if (level.hasBox(cell)) {
            return target ? BOX_ON_TARGET : BOX;
        }
        return target ? TARGET : FLOOR;
    }
}
