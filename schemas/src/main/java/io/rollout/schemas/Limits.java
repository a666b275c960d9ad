package io.rollout.schemas;

import io.rollout.schemas.topics.TopicCatalog;

/**
 * Bounds on sizes that arrive from outside a process, in one place so that every service
 * checks the same numbers. A record beyond them is bad input: skipped or dead-lettered,
 * logged and counted, never allowed to make a reader allocate by what it declares.
 *
 * <p>The serdes enforce {@link #MAX_RECORD_BYTES}; the weight reader and publisher enforce
 * {@link #MAX_CHUNK_COUNT} and {@link #MAX_ADAPTER_BYTES}. The ranges of {@code Task} and
 * {@code Step} fields are for the services that consume those records to check.
 */
public final class Limits {

    /**
     * Largest single-object payload a serde encodes or decodes: the largest record any
     * topic of the catalog accepts ({@code max.message.bytes} of policy.weights, 16 MiB).
     */
    public static final int MAX_RECORD_BYTES = TopicCatalog.WEIGHTS_MAX_MESSAGE_BYTES;

    /** Largest group: {@code Task.groupSize} and {@code Step.groupSize} lie in 1..4096. */
    public static final int MAX_GROUP_SIZE = 4096;

    /** Most steps an episode may take: {@code Task.maxSteps} lies in 1..10,000. */
    public static final int MAX_EPISODE_STEPS = 10_000;

    /** Largest step index: {@code Step.t} and {@code TrainingSample.t} lie in 0..9,999. */
    public static final int MAX_STEP_INDEX = MAX_EPISODE_STEPS - 1;

    /**
     * Largest adapter version (the joined bytes of its chunks), 1 GiB. A reader holds the
     * chunks, the joined copy and the previous version at once, so this bounds its heap;
     * a publisher refuses larger adapters and a reader rejects manifests that declare more.
     */
    public static final long MAX_ADAPTER_BYTES = 1L << 30;

    /**
     * Most chunks of one adapter version, 65,536: 1 GiB at 16 KiB per chunk (the publisher's
     * default chunk is 1 MiB). A publisher refuses a version that would need more; a reader
     * rejects a manifest that declares more, before it looks for a single chunk.
     */
    public static final int MAX_CHUNK_COUNT = 1 << 16;

    private Limits() {
    }

    /** Whether {@code groupSize} is in 1..{@link #MAX_GROUP_SIZE}. */
    public static boolean isValidGroupSize(int groupSize) {
        return groupSize >= 1 && groupSize <= MAX_GROUP_SIZE;
    }

    /** Whether {@code maxSteps} is in 1..{@link #MAX_EPISODE_STEPS}. */
    public static boolean isValidMaxSteps(int maxSteps) {
        return maxSteps >= 1 && maxSteps <= MAX_EPISODE_STEPS;
    }

    /** Whether step index {@code t} is in 0..{@link #MAX_STEP_INDEX}. */
    public static boolean isValidStepIndex(int t) {
        return t >= 0 && t <= MAX_STEP_INDEX;
    }
}
