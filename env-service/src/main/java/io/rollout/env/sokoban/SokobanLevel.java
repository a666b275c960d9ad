package io.rollout.env.sokoban;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable Sokoban position: the fixed room (walls, targets) plus where the player and the
 * boxes are. Cells are numbered row-major ({@code row * cols + col}); the outer border is always
 * wall, so a move never leaves the grid and no code needs bounds checks.
 *
 * <p>Limits (checked): at most 256 cells and 1..7 boxes, one target per box, so a position
 * packs into a {@code long} (one byte per cell index) for the generator's and solver's sets.
 */
public final class SokobanLevel {

    /** Largest number of boxes: player + 7 boxes, one byte each, fill a long. */
    public static final int MAX_BOXES = 7;
    /** Largest number of cells: a cell index must fit in one byte. */
    public static final int MAX_CELLS = 256;

    private final int rows;
    private final int cols;
    // Shared, never mutated, between a level and the levels derived from it by move().
    private final boolean[] walls;
    private final boolean[] targetCells;
    private final int[] targets;
    private final int[] boxes;
    private final int player;

    private SokobanLevel(int rows, int cols, boolean[] walls, boolean[] targetCells, int[] targets,
                         int[] boxes, int player) {
        this.rows = rows;
        this.cols = cols;
        this.walls = walls;
        this.targetCells = targetCells;
        this.targets = targets;
        this.boxes = boxes;
        this.player = player;
    }

    /**
     * A level from its parts, validated.
     *
     * @param walls   one flag per cell, row-major; the border must be all wall
     * @param targets target cells
     * @param boxes   box cells, as many as targets, on distinct floor cells
     * @param player  the player's cell, a floor cell without a box
     */
    public static SokobanLevel of(int rows, int cols, boolean[] walls, int[] targets, int[] boxes, int player) {
        if (rows < 3 || cols < 3 || rows * cols > MAX_CELLS) {
            throw new IllegalArgumentException("room must be at least 3x3 and at most " + MAX_CELLS
                    + " cells, got " + rows + "x" + cols);
        }
        if (walls.length != rows * cols) {
            throw new IllegalArgumentException("walls has " + walls.length + " cells, expected " + rows * cols);
        }
        boolean[] wallCopy = walls.clone();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if ((r == 0 || c == 0 || r == rows - 1 || c == cols - 1) && !wallCopy[r * cols + c]) {
                    throw new IllegalArgumentException("the border must be wall; cell (" + r + "," + c + ") is not");
                }
            }
        }
        if (boxes.length < 1 || boxes.length > MAX_BOXES || boxes.length != targets.length) {
            throw new IllegalArgumentException("need 1.." + MAX_BOXES + " boxes and as many targets, got "
                    + boxes.length + " boxes and " + targets.length + " targets");
        }
        int[] targetCopy = sortedDistinctFloor("target", targets, wallCopy);
        int[] boxCopy = sortedDistinctFloor("box", boxes, wallCopy);
        checkFloor("player", player, wallCopy);
        if (Arrays.binarySearch(boxCopy, player) >= 0) {
            throw new IllegalArgumentException("the player stands on a box at cell " + player);
        }
        boolean[] targetCells = new boolean[rows * cols];
        for (int t : targetCopy) {
            targetCells[t] = true;
        }
        return new SokobanLevel(rows, cols, wallCopy, targetCells, targetCopy, boxCopy, player);
    }

    /**
     * Parses a level drawn with the observation symbols ({@code #} wall, {@code _} floor,
     * {@code O} target, {@code X} box, {@code √} box on target, {@code P} player, {@code S} player
     * on target), one row per line. Spaces and tabs are ignored, so a rendered observation
     * parses back to its level; that also makes hand-built test levels easy to write.
     */
    public static SokobanLevel parse(String text) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            String cells = line.replace(" ", "").replace("\t", "").replace("\r", "");
            if (!cells.isEmpty()) {
                lines.add(cells);
            }
        }
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("empty level");
        }
        int rows = lines.size();
        int cols = lines.get(0).length();
        boolean[] walls = new boolean[rows * cols];
        List<Integer> targets = new ArrayList<>();
        List<Integer> boxes = new ArrayList<>();
        int player = -1;
        for (int r = 0; r < rows; r++) {
            String line = lines.get(r);
            if (line.length() != cols) {
                throw new IllegalArgumentException("row " + r + " has " + line.length() + " cells, expected " + cols);
            }
            for (int c = 0; c < cols; c++) {
                int cell = r * cols + c;
                char ch = line.charAt(c);
                switch (ch) {
                    case SokobanRenderer.WALL -> walls[cell] = true;
                    case SokobanRenderer.FLOOR -> { }
                    case SokobanRenderer.TARGET -> targets.add(cell);
                    case SokobanRenderer.BOX -> boxes.add(cell);
                    case SokobanRenderer.BOX_ON_TARGET -> {
                        boxes.add(cell);
                        targets.add(cell);
                    }
                    case SokobanRenderer.PLAYER, SokobanRenderer.PLAYER_ON_TARGET -> {
                        if (player >= 0) {
                            throw new IllegalArgumentException("more than one player");
                        }
                        player = cell;
                        if (ch == SokobanRenderer.PLAYER_ON_TARGET) {
                            targets.add(cell);
                        }
                    }
                    default -> throw new IllegalArgumentException("unknown symbol '" + ch + "' at row " + r);
                }
            }
        }
        if (player < 0) {
            throw new IllegalArgumentException("no player");
        }
        return of(rows, cols, walls, toArray(targets), toArray(boxes), player);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int cellCount() {
        return rows * cols;
    }

    public int cell(int row, int col) {
        return row * cols + col;
    }

    /** The cell one step from {@code cell} in {@code direction}. */
    public int neighbour(int cell, Direction direction) {
        return cell + direction.dRow() * cols + direction.dCol();
    }

    public boolean isWall(int cell) {
        return walls[cell];
    }

    public boolean isTarget(int cell) {
        return targetCells[cell];
    }

    public boolean hasBox(int cell) {
        for (int b : boxes) {
            if (b == cell) {
                return true;
            }
        }
        return false;
    }

    public int player() {
        return player;
    }

    /** Box cells, ascending. */
    public int[] boxes() {
        return boxes.clone();
    }

    /** Target cells, ascending. */
    public int[] targets() {
        return targets.clone();
    }

    public int boxCount() {
        return boxes.length;
    }

    public int boxesOnTarget() {
        int n = 0;
        for (int b : boxes) {
            if (targetCells[b]) {
                n++;
            }
        }
        return n;
    }

    public boolean isSolved() {
        return boxesOnTarget() == boxes.length;
    }

    /**
     * The position after the player tries to go one step: onto a free cell, or pushing a box
     * into a free cell beyond it. A blocked move (a wall, or a box against a wall or another box)
     * returns this same level.
     */
    public SokobanLevel move(Direction direction) {
        int next = neighbour(player, direction);
        if (walls[next]) {
            return this;
        }
        int boxIndex = indexOfBox(next);
        if (boxIndex < 0) {
            return new SokobanLevel(rows, cols, walls, targetCells, targets, boxes, next);
        }
        int beyond = neighbour(next, direction);
        if (walls[beyond] || indexOfBox(beyond) >= 0) {
            return this;
        }
        int[] moved = boxes.clone();
        moved[boxIndex] = beyond;
        Arrays.sort(moved);
        return new SokobanLevel(rows, cols, walls, targetCells, targets, moved, next);
    }

    private int indexOfBox(int cell) {
        for (int i = 0; i < boxes.length; i++) {
            if (boxes[i] == cell) {
                return i;
            }
        }
        return -1;
    }

    private static int[] sortedDistinctFloor(String what, int[] cells, boolean[] walls) {
        int[] copy = cells.clone();
        Arrays.sort(copy);
        for (int i = 0; i < copy.length; i++) {
            checkFloor(what, copy[i], walls);
            if (i > 0 && copy[i] == copy[i - 1]) {
                throw new IllegalArgumentException("duplicate " + what + " at cell " + copy[i]);
            }
        }
        return copy;
    }

    private static void checkFloor(String what, int cell, boolean[] walls) {
        if (cell < 0 || cell >= walls.length || walls[cell]) {
            throw new IllegalArgumentException(what + " at cell " + cell + " is not on a floor cell");
        }
    }

    private static int[] toArray(List<Integer> cells) {
        return cells.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SokobanLevel other
                && rows == other.rows && cols == other.cols && player == other.player
                && Arrays.equals(walls, other.walls)
                && Arrays.equals(targets, other.targets)
                && Arrays.equals(boxes, other.boxes);
    }

    @Override
    public int hashCode() {
        int h = 31 * rows + cols;
        h = 31 * h + player;
        h = 31 * h + Arrays.hashCode(walls);
        h = 31 * h + Arrays.hashCode(targets);
        return 31 * h + Arrays.hashCode(boxes);
    }

    /** The observation text, see {@link SokobanRenderer#render}. */
    @Override
    public String toString() {
        return SokobanRenderer.render(this);
    }
}
