package io.rollout.env.sokoban;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Breadth-first solver over (player cell, box cells) with pushes only, counting every player
 * step as one move, so it finds a shortest solution in the environment's own step units. The
 * generator uses it to reject levels not solvable within {@code max_steps}; tests use it to
 * prove every level solvable.
 *
 * <p>Pushes onto cells from which a box can never reach a target (corners, dead walls) are
 * pruned; that keeps the result optimal and shrinks the search a lot. A search also stops
 * after a state budget, so an answer always comes quickly; "not found" then means "not found
 * within the budget". Not thread-safe: it reuses its buffers between searches.
 */
public final class SokobanSolver {

    /** The default most states one search visits. */
    public static final int DEFAULT_STATE_BUDGET = 1_000_000;

    // Buffers above this many states are dropped after a search, so an environment that once
    // solved a huge level does not hold tens of megabytes for the rest of its life.
    private static final int RETAINED_CAPACITY = 1 << 16;
    private static final int INITIAL_CAPACITY = 1024;

    private static final Direction[] DIRECTIONS = Direction.values();

    private final int stateBudget;
    private LongHashSet visited = new LongHashSet(INITIAL_CAPACITY);
    private long[] queue = new long[INITIAL_CAPACITY];
    private int[] parent = new int[INITIAL_CAPACITY];
    private byte[] moveTaken = new byte[INITIAL_CAPACITY];
    private final int[] boxes = new int[SokobanLevel.MAX_BOXES];
    private final int[] sorted = new int[SokobanLevel.MAX_BOXES];
    // What the last search cost: states queued, and whether it stopped at its state limit.
    private int lastStates;
    private boolean lastCut;

    public SokobanSolver() {
        this(DEFAULT_STATE_BUDGET);
    }

    public SokobanSolver(int stateBudget) {
        if (stateBudget < 1) {
            throw new IllegalArgumentException("stateBudget must be positive, got " + stateBudget);
        }
        this.stateBudget = stateBudget;
    }

    /** The fewest moves that solve {@code level}, if at most {@code maxMoves}; else empty. */
    public OptionalInt shortestSolutionLength(SokobanLevel level, int maxMoves) {
        return shortestSolutionLength(level, maxMoves, stateBudget);
    }

    /**
     * As {@link #shortestSolutionLength(SokobanLevel, int)}, visiting at most {@code stateLimit}
     * states when that is below the solver's own budget; {@link #lastSearchCut()} then says
     * whether the limit, and not the level, ended the search.
     */
    OptionalInt shortestSolutionLength(SokobanLevel level, int maxMoves, int stateLimit) {
        int goal = search(level, maxMoves, Math.min(stateBudget, stateLimit));
        OptionalInt result = goal < 0 ? OptionalInt.empty() : OptionalInt.of(pathLength(goal));
        trim();
        return result;
    }

    /** A shortest solution of {@code level}, if it takes at most {@code maxMoves}; else empty. */
    public Optional<List<Direction>> solve(SokobanLevel level, int maxMoves) {
        int goal = search(level, maxMoves, stateBudget);
        if (goal < 0) {
            trim();
            return Optional.empty();
        }
        List<Direction> path = new ArrayList<>();
        for (int i = goal; parent[i] >= 0; i = parent[i]) {
            path.add(DIRECTIONS[moveTaken[i]]);
        }
        trim();
        Collections.reverse(path);
        return Optional.of(List.copyOf(path));
    }

    int stateBudget() {
        return stateBudget;
    }

    /** States the last search queued. */
    int lastSearchStates() {
        return lastStates;
    }

    /** Whether the last search stopped at its state limit rather than finishing. */
    boolean lastSearchCut() {
        return lastCut;
    }

    private int pathLength(int goal) {
        int n = 0;
        for (int i = goal; parent[i] >= 0; i = parent[i]) {
            n++;
        }
        return n;
    }

    /** BFS of at most {@code limit} states; returns the queue index of a solved state, or -1. */
    private int search(SokobanLevel level, int maxMoves, int limit) {
        lastCut = false;
        lastStates = 1;
        int n = level.boxCount();
        int[] delta = new int[DIRECTIONS.length];
        for (Direction d : DIRECTIONS) {
            delta[d.ordinal()] = level.neighbour(0, d);
        }
        boolean[] live = liveCells(level, delta);
        long goalBoxes = pack(level.targets(), n);

        visited.clear();
        int[] startBoxes = level.boxes();
        long start = (pack(startBoxes, n) << 8) | level.player();
        queue[0] = start;
        parent[0] = -1;
        visited.add(start);
        if ((start >>> 8) == goalBoxes) {
            return 0;
        }
        int head = 0;
        int tail = 1;
        for (int depth = 0; depth < maxMoves && head < tail; depth++) {
            int layerEnd = tail;
            for (; head < layerEnd; head++) {
                long state = queue[head];
                int player = (int) (state & 0xFF);
                for (int i = 0; i < n; i++) {
                    boxes[i] = (int) ((state >>> (8 * (i + 1))) & 0xFF);
                }
                for (int dir = 0; dir < delta.length; dir++) {
                    int next = player + delta[dir];
                    if (level.isWall(next)) {
                        continue;
                    }
                    int box = indexOf(boxes, n, next);
                    long child;
                    if (box < 0) {
                        child = (state & ~0xFFL) | next;
                    } else {
                        int beyond = next + delta[dir];
                        if (!live[beyond] || indexOf(boxes, n, beyond) >= 0) {
                            continue;
                        }
                        System.arraycopy(boxes, 0, sorted, 0, n);
                        sorted[box] = beyond;
                        Arrays.sort(sorted, 0, n);
                        child = (pack(sorted, n) << 8) | next;
                    }
                    if (!visited.add(child)) {
                        continue;
                    }
                    if (tail == queue.length) {
                        growQueue();
                    }
                    queue[tail] = child;
                    parent[tail] = head;
                    moveTaken[tail] = (byte) dir;
                    if ((child >>> 8) == goalBoxes) {
                        lastStates = tail + 1;
                        return tail;
                    }
                    tail++;
                    if (tail >= limit) {
                        lastStates = tail;
                        lastCut = true;
                        return -1;
                    }
                }
            }
        }
        lastStates = tail;
        return -1;
    }

    /**
     * Cells a lone box can be pushed from to some target: found backwards from the targets by
     * pulling (a box at {@code c} comes from {@code c - d} when the player fits at {@code c - 2d}).
     */
    private static boolean[] liveCells(SokobanLevel level, int[] delta) {
        boolean[] live = new boolean[level.cellCount()];
        int[] stack = new int[level.cellCount()];
        int top = 0;
        for (int t : level.targets()) {
            live[t] = true;
            stack[top++] = t;
        }
        while (top > 0) {
            int cell = stack[--top];
            for (int d : delta) {
                int from = cell - d;
                // from is inside the grid: cell is floor, so not on the border.
                if (!live[from] && !level.isWall(from) && !level.isWall(from - d)) {
                    live[from] = true;
                    stack[top++] = from;
                }
            }
        }
        return live;
    }

    private static long pack(int[] cells, int n) {
        long packed = 0;
        for (int i = n - 1; i >= 0; i--) {
            packed = (packed << 8) | cells[i];
        }
        return packed;
    }

    private static int indexOf(int[] cells, int n, int cell) {
        for (int i = 0; i < n; i++) {
            if (cells[i] == cell) {
                return i;
            }
        }
        return -1;
    }

    private void trim() {
        if (queue.length > RETAINED_CAPACITY) {
            queue = new long[INITIAL_CAPACITY];
            parent = new int[INITIAL_CAPACITY];
            moveTaken = new byte[INITIAL_CAPACITY];
        }
        if (visited.capacity() > 2 * RETAINED_CAPACITY) {
            visited = new LongHashSet(INITIAL_CAPACITY);
        }
    }

    private void growQueue() {
        int size = queue.length * 2;
        queue = Arrays.copyOf(queue, size);
        parent = Arrays.copyOf(parent, size);
        moveTaken = Arrays.copyOf(moveTaken, size);
    }
}
