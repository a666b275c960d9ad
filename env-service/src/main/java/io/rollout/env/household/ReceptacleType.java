package io.rollout.env.household;

import java.util.Locale;

/**
 * The kinds of receptacle a household has. Openable ones start closed and must be opened
 * before anything in them is seen, taken or put; singletons appear at most once, so the
 * appliances an agent needs are never ambiguous.
 */
enum ReceptacleType {
    CABINET(true, "in", false, 4),
    COUNTERTOP(false, "on", false, 2),
    DESK(false, "on", true, 1),
    DININGTABLE(false, "on", false, 1),
    DRAWER(true, "in", false, 3),
    DRESSER(false, "on", true, 1),
    FRIDGE(true, "in", true, 1),
    GARBAGECAN(false, "in", true, 1),
    MICROWAVE(true, "in", true, 1),
    SHELF(false, "on", false, 2),
    SIDETABLE(false, "on", false, 1),
    SINKBASIN(false, "in", true, 1),
    STOVEBURNER(false, "on", false, 1);

    final boolean openable;
    /** How a goal names placing something here: "in fridge", "on countertop". */
    final String preposition;
    final boolean singleton;
    /** Relative frequency when filling a household beyond the receptacles its goal needs. */
    final int weight;

    ReceptacleType(boolean openable, String preposition, boolean singleton, int weight) {
        this.openable = openable;
        this.preposition = preposition;
        this.singleton = singleton;
        this.weight = weight;
    }

    /** The word ALFWorld uses, e.g. {@code sinkbasin}. */
    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
