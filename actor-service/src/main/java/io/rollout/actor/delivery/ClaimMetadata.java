package io.rollout.actor.delivery;

/**
 * The metadata an actor commits with a {@code rollout.tasks} offset:
 * {@code assignments=N;actor=ID}. {@code N} counts how many times the partition has been
 * claimed (and raised again for a new delivery attempt after an outage); a task's delivery
 * attempt is built from it, so a replay after a crash or a rebalance never shares an attempt
 * with the steps of the delivery it replaces. The actor id is for people reading offsets.
 */
public final class ClaimMetadata {

    private static final String ASSIGNMENTS = "assignments=";
    private static final String ACTOR = ";actor=";

    private ClaimMetadata() {
    }

    /** The metadata of a commit made under assignment counter {@code assignments} by {@code actorId}. */
    public static String encode(long assignments, String actorId) {
        if (assignments < 0) {
            throw new IllegalArgumentException("assignment counter must be >= 0, got " + assignments);
        }
        return ASSIGNMENTS + assignments + ACTOR + actorId;
    }

    /**
     * The assignment counter in committed metadata: 0 when there is none (a partition never
     * claimed, or committed by something else); an unreadable or negative counter counts as 0 too.
     */
    public static long assignments(String metadata) {
        if (metadata == null) {
            return 0;
        }
        for (String part : metadata.split(";")) {
            if (part.startsWith(ASSIGNMENTS)) {
                try {
                    return Math.max(0, Long.parseLong(part.substring(ASSIGNMENTS.length())));
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0;
    }
}
