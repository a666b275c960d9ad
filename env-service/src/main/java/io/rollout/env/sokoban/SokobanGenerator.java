package io.rollout.env.sokoban;

import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.SeededRandom;
import java.util.Arrays;
import java.util.OptionalInt;

/**
 * Generates a level from a seed the way gym-sokoban's {@code generate_room} does (which
 * verl-agent uses), so level difficulty compares with theirs:
 * <ol>
 *   <li>room topology: a random walk of {@code int(1.7 * (dim_x + dim_y))} steps from a random
 *       interior cell that changes direction with probability 0.35 and carves a random 3x3 mask
 *       pattern at each step; the outer border is always wall;</li>
 *   <li>the player and then {@code num_boxes} targets on random floor cells;</li>
 *   <li>reverse play: starting with every box on its target, a depth-first search over player
 *       moves and pulls (at most {@code search_depth} of them, each state explored once) keeps
 *       the first state with the highest score {@code box_swaps * sum of the boxes' Manhattan
 *       distances from their own targets}, where {@code box_swaps} counts how often the pulled
 *       box changed; like gym-sokoban, only states with every target uncovered score.</li>
   <li>with {@code player_walk > 0}, verl-agent's random walk of the player: with probability 0.8
 *       when the boxes lie one cell in all from their targets, else 0.5, the player walks up to
 *       {@code player_walk} steps (verl-agent: 3), each to a uniformly chosen free neighbour it has
 *       not stood on, continuing after each step with probability 0.5. Without it the player
 *       always starts next to the box it pulled last.</li>
 * </ol>
 * Known differences from the Python code: gym-sokoban's {@code ttl} stops the search two moves
 * short of {@code search_depth}; its original {@code box_swaps} counted every pull (the
 * RAGEN/verl-agent copy counts changes of pulled box, as here); and the RAGEN/verl-agent copy
 * tries pulls only, where this also tries plain moves.
 * A try is rejected when no state scored (no box could be moved off), when the room has too few
 * floor cells, when the shortest solution takes more than {@code max_steps} moves or fewer than
 * {@code min_solution} (checked with {@link SokobanSolver}); then the next try continues on the
 * same {@link SeededRandom}, so the same seed always yields the same level. Not thread-safe: it
 * reuses its search buffers.
 *
 * <p>Longer than most classes because the whole generation (room topology, reverse play, scoring,
 * the solution-length check) shares its search buffers and its random stream, which keep a seed's
 * level the same.
 */
public final class SokobanGenerator {

    /** Tries per seed before giving up; a reachable config needs only a few. */
    public static final int MAX_TRIES = 200;
    /**
     * The most search states one level may cost, reverse play and solver over all tries
     * together. Without it the largest config explored up to {@link #MAX_TRIES} times 1.3M states
     * (tens of seconds) per create; the configs in use need well under 1% of it.
     */
    public static final long DEFAULT_STATE_BUDGET = 5_000_000;

    static final double WALK_STEPS_FACTOR = 1.7;
    static final double P_CHANGE_DIRECTION = 0.35;
    /** gym-sokoban's cap on explored reverse-play states per try. */
    static final int MAX_EXPLORED_STATES = 300_000;
    /** verl-agent's chance that the player's walk goes on after each step. */
    static final double CONTINUE_WALK = 0.5;

    // gym-sokoban's carving masks, row by row; the centre sits on the walker.
    private static final int[][] MASKS = {
            {0, 0, 0, 1, 1, 1, 0, 0, 0},
            {0, 1, 0, 0, 1, 0, 0, 1, 0},
            {0, 0, 0, 1, 1, 0, 0, 1, 0},
            {0, 0, 0, 1, 1, 0, 1, 1, 0},
            {0, 0, 0, 0, 1, 1, 0, 1, 0},
    };
    // gym-sokoban's walk directions (row, col), in its order.
    private static final int[][] WALK = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    // gym-sokoban's reverse-play action order: up, down, left, right.
    private static final Direction[] REVERSE_ORDER = {Direction.UP, Direction.DOWN, Direction.LEFT, Direction.RIGHT};

    private final SokobanSolver solver = new SokobanSolver();
    private final long stateBudget;
    private long statesLeft;
    // Dropped after a search that grew it past this, so a big config's buffers are not kept.
    private static final int RETAINED_CAPACITY = 1 << 17;

    private LongHashSet explored = new LongHashSet(1024);

    // Reverse-play search state, reset per try.
    private int cols;
    private boolean[] walls;
    private int[] delta;
    private int searchDepth;
    private int exploreLimit;
    private boolean exploreCut;
    private int numBoxes;
    private int[] targetCell;
    private int[] boxCell;
    private int[] boxAt;
    private final int[] keyScratch = new int[SokobanLevel.MAX_BOXES];
    private int player;
    private int swaps;
    private int lastPull;
    private int bestScore;
    private int bestPlayer;
    private int bestDepth;
    private int[] bestBoxCell;

    public SokobanGenerator() {
        this(DEFAULT_STATE_BUDGET);
    }

    /** A generator that refuses a level costing more than {@code stateBudget} search states. */
    public SokobanGenerator(long stateBudget) {
        if (stateBudget < 1) {
            throw new IllegalArgumentException("stateBudget must be positive, got " + stateBudget);
        }
        this.stateBudget = stateBudget;
    }

    /**
     * The level for {@code seed} under {@code config}: solvable within {@code config.maxSteps()}
     * moves, with every box off its target. A level that fits the state budget is the same as
     * without one; the budget only turns a long search into a refusal.
     *
     * @throws EnvInputException BAD_CONFIG_VALUE when the config cannot yield such a level
     *                           (more boxes than steps or than search depth) or no try of
     *                           {@link #MAX_TRIES} succeeded for this seed; CONFIG_TOO_EXPENSIVE
     *                           when the tries needed more search states than the budget
     */
    public SokobanLevel generate(long seed, SokobanConfig config) {
        if (config.numBoxes() > config.maxSteps() || config.numBoxes() > config.searchDepth()) {
            throw new EnvInputException(Kind.BAD_CONFIG_VALUE, "num_boxes=" + config.numBoxes()
                    + " needs max_steps and search_depth of at least " + config.numBoxes()
                    + " (every box needs a push), got " + config.asMap());
        }
        SeededRandom random = new SeededRandom(seed);
        statesLeft = stateBudget;
        try {
            for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
                SokobanLevel level = tryGenerate(random, config, seed);
                if (level != null) {
                    return level;
                }
            }
        } finally {
            if (explored.capacity() > RETAINED_CAPACITY) {
                explored = new LongHashSet(1024);
            }
        }
        throw new EnvInputException(Kind.BAD_CONFIG_VALUE, "no Sokoban level solvable within max_steps found for seed "
                + seed + " in " + MAX_TRIES + " tries with " + config.asMap()
                + "; a smaller room, fewer boxes or a larger max_steps makes levels easier to find");
    }

    /** Search states the last {@link #generate} used. */
    long statesUsed() {
        return stateBudget - statesLeft;
    }

    private EnvInputException tooExpensive(long seed, SokobanConfig config) {
        return new EnvInputException(Kind.CONFIG_TOO_EXPENSIVE, "generating the Sokoban level of seed " + seed
                + " with " + config.asMap() + " needs more than " + stateBudget
                + " search states, the limit of one create or reset; a smaller room, fewer boxes, a smaller "
                + "search_depth or a smaller min_solution cost less");
    }

    private SokobanLevel tryGenerate(SeededRandom random, SokobanConfig config, long seed) {
        int rows = config.dimX();
        cols = config.dimY();
        boolean[] floor = topology(random, rows, cols, config);
        int[] floorCells = cellsOf(floor);
        if (floorCells.length <= config.numBoxes() + 1) {
            return null;
        }
        int playerStart = floorCells[random.nextInt(floorCells.length)];
        int[] targets = new int[config.numBoxes()];
        boolean[] taken = new boolean[floor.length];
        taken[playerStart] = true;
        for (int i = 0; i < targets.length; i++) {
            // Row-major order of the free floor cells, as numpy.where lists them.
            int pick = random.nextInt(floorCells.length - 1 - i);
            for (int cell : floorCells) {
                if (!taken[cell] && pick-- == 0) {
                    targets[i] = cell;
                    taken[cell] = true;
                    break;
                }
            }
        }
        walls = new boolean[floor.length];
        for (int cell = 0; cell < floor.length; cell++) {
            walls[cell] = !floor[cell];
        }
        exploreLimit = (int) Math.min(MAX_EXPLORED_STATES, statesLeft);
        reversePlay(targets, playerStart, config);
        statesLeft -= explored.size();
        if (exploreCut && exploreLimit < MAX_EXPLORED_STATES) {
            throw tooExpensive(seed, config);
        }
        if (bestScore <= 0) {
            return null;
        }
        int walked = config.playerWalk() > 0 ? walkPlayer(random, targets, config.playerWalk()) : 0;
        SokobanLevel level = SokobanLevel.of(rows, cols, walls, targets, bestBoxCell, bestPlayer);
        // Walking back and then playing the reverse path forwards solves the level in walked + bestDepth moves.
        if (config.minSolution() <= 1 && walked + bestDepth <= config.maxSteps()) {
            return level;
        }
        int solverLimit = (int) Math.min(solver.stateBudget(), statesLeft);
        OptionalInt shortest = solver.shortestSolutionLength(level, config.maxSteps(), solverLimit);
        statesLeft -= solver.lastSearchStates();
        if (solver.lastSearchCut() && solverLimit < solver.stateBudget()) {
            throw tooExpensive(seed, config);
        }
        return shortest.isPresent() && shortest.getAsInt() >= config.minSolution() ? level : null;
    }

    /**
     * verl-agent's post-generation walk: moves {@code bestPlayer} and returns the steps taken.
     * The player walks only onto floor and empty targets, never twice onto a cell.
     */
    private int walkPlayer(SeededRandom random, int[] targets, int maxSteps) {
        int displacement = 0;
        for (int i = 0; i < numBoxes; i++) {
            int b = bestBoxCell[i];
            int t = targets[i];
            displacement += Math.abs(b / cols - t / cols) + Math.abs(b % cols - t % cols);
        }
        double moveProbability = displacement == 1 ? 0.8 : 0.5;
        if (random.nextDouble() > moveProbability) {
            return 0;
        }
        boolean[] blocked = walls.clone();
        for (int i = 0; i < numBoxes; i++) {
            blocked[bestBoxCell[i]] = true;
        }
        blocked[bestPlayer] = true;
        int[] options = new int[REVERSE_ORDER.length];
        int steps = 0;
        while (steps < maxSteps) {
            int n = 0;
            for (int d : delta) {
                if (!blocked[bestPlayer + d]) {
                    options[n++] = bestPlayer + d;
                }
            }
            if (n == 0) {
                break;
            }
            bestPlayer = options[random.nextInt(n)];
            blocked[bestPlayer] = true;
            steps++;
            if (steps >= maxSteps || random.nextDouble() > CONTINUE_WALK) {
                break;
            }
        }
        return steps;
    }

    private static boolean[] topology(SeededRandom random, int rows, int cols, SokobanConfig config) {
        int steps = (int) (WALK_STEPS_FACTOR * (config.dimX() + config.dimY()));
        boolean[] floor = new boolean[rows * cols];
        int[] direction = WALK[random.nextInt(WALK.length)];
        // Like gym-sokoban, the start may lie on the far border; the first step clamps it inside.
        int row = 1 + random.nextInt(rows - 1);
        int col = 1 + random.nextInt(cols - 1);
        for (int s = 0; s < steps; s++) {
            if (random.nextDouble() < P_CHANGE_DIRECTION) {
                direction = WALK[random.nextInt(WALK.length)];
            }
            row = Math.max(Math.min(row + direction[0], rows - 2), 1);
            col = Math.max(Math.min(col + direction[1], cols - 2), 1);
            int[] mask = MASKS[random.nextInt(MASKS.length)];
            for (int i = 0; i < 9; i++) {
                if (mask[i] == 1) {
                    floor[(row - 1 + i / 3) * cols + (col - 1 + i % 3)] = true;
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            floor[r * cols] = false;
            floor[r * cols + cols - 1] = false;
        }
        for (int c = 0; c < cols; c++) {
            floor[c] = false;
            floor[(rows - 1) * cols + c] = false;
        }
        return floor;
    }

    private void reversePlay(int[] targets, int playerStart, SokobanConfig config) {
        numBoxes = targets.length;
        searchDepth = config.searchDepth();
        delta = new int[REVERSE_ORDER.length];
        for (int i = 0; i < REVERSE_ORDER.length; i++) {
            delta[i] = REVERSE_ORDER[i].dRow() * cols + REVERSE_ORDER[i].dCol();
        }
        targetCell = targets.clone();
        boxCell = targets.clone();
        boxAt = new int[walls.length];
        Arrays.fill(boxAt, -1);
        for (int i = 0; i < numBoxes; i++) {
            boxAt[boxCell[i]] = i;
        }
        player = playerStart;
        swaps = 0;
        lastPull = -1;
        bestScore = -1;
        bestBoxCell = boxCell.clone();
        bestPlayer = player;
        bestDepth = 0;
        explored.clear();
        exploreCut = false;
        search(0);
    }

    private void search(int depth) {
        if (explored.size() >= exploreLimit) {
            exploreCut = true;
            return;
        }
        if (!explored.add(stateKey())) {
            return;
        }
        int score = score();
        if (score > bestScore) {
            bestScore = score;
            bestPlayer = player;
            bestDepth = depth;
            System.arraycopy(boxCell, 0, bestBoxCell, 0, numBoxes);
        }
        if (depth == searchDepth) {
            return;
        }
        // Actions 0..3 move and pull the box behind the player, if any; 4..7 only move.
        for (int action = 0; action < 8; action++) {
            int d = delta[action & 3];
            int next = player + d;
            if (walls[next] || boxAt[next] >= 0) {
                continue;
            }
            int behind = player - d;
            int box = boxAt[behind];
            if (action < 4 && box >= 0) {
                int from = player;
                int savedSwaps = swaps;
                int savedLastPull = lastPull;
                boxAt[behind] = -1;
                boxAt[from] = box;
                boxCell[box] = from;
                if (box != lastPull) {
                    swaps++;
                    lastPull = box;
                }
                player = next;
                search(depth + 1);
                player = from;
                boxCell[box] = behind;
                boxAt[from] = -1;
                boxAt[behind] = box;
                swaps = savedSwaps;
                lastPull = savedLastPull;
            } else if (action < 4 || box >= 0) {
                // A plain move with no box behind equals the pull action already tried: skip it.
                int from = player;
                player = next;
                search(depth + 1);
                player = from;
            }
        }
    }

    private int score() {
        int displacement = 0;
        for (int i = 0; i < numBoxes; i++) {
            int t = targetCell[i];
            if (t == player || boxAt[t] >= 0) {
                return 0;
            }
            int b = boxCell[i];
            displacement += Math.abs(b / cols - t / cols) + Math.abs(b % cols - t % cols);
        }
        return swaps * displacement;
    }

    // Boxes are interchangeable in a state: pack player and the sorted box cells.
    private long stateKey() {
        System.arraycopy(boxCell, 0, keyScratch, 0, numBoxes);
        for (int i = 1; i < numBoxes; i++) {
            int v = keyScratch[i];
            int j = i - 1;
            while (j >= 0 && keyScratch[j] > v) {
                keyScratch[j + 1] = keyScratch[j];
                j--;
            }
            keyScratch[j + 1] = v;
        }
        long key = 0;
        for (int i = numBoxes - 1; i >= 0; i--) {
            key = (key << 8) | keyScratch[i];
        }
        return (key << 8) | player;
    }

    private static int[] cellsOf(boolean[] floor) {
        int n = 0;
        for (boolean f : floor) {
            if (f) {
                n++;
            }
        }
        int[] cells = new int[n];
        int i = 0;
        for (int cell = 0; cell < floor.length; cell++) {
            if (floor[cell]) {
                cells[i++] = cell;
            }
        }
        return cells;
    }
}
