package io.rollout.actor.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.rollout.actor.play.BatchGenerator;
import io.rollout.policy.sampling.ContinuousBatcher;
import io.rollout.records.TerminalReason;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The actor's meters, all named {@code rollout.actor.*}: tasks by outcome, steps and episodes
 * published, groups in flight, the time spent generating and playing groups (their ratio is
 * the share of a group's time spent generating; the rest is waiting on env-service and Kafka),
 * the work of the actor's one decode batch ({@link ContinuousBatcher}: decode steps, how many
 * sequences each advanced, prefills of joining rounds) and the policy version in use.
 */
public final class ActorMetrics {

    /** What became of a task. */
    public enum TaskOutcome {
        /** All steps published and acknowledged; the offset may be committed. */
        COMPLETED,
        /**
         * Played to an end that drops the group: generation failed, a step was too big for Kafka, or
         * env-service kept failing after it came back; the open episodes were ended as INFRA_ERROR,
         * so the advantage stage drops the group and the scheduler re-queues it. Committed.
         */
        FAILED,
        /** Given up unfinished (partition revoked, shutdown or the actor failed); another actor replays it. */
        ABANDONED,
        /** Not a readable, valid task; sent to the dead-letter topic. */
        DEAD_LETTERED;

        String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final MeterRegistry registry;
    private final Map<TaskOutcome, Counter> tasks = new EnumMap<>(TaskOutcome.class);
    private final Map<TerminalReason, Counter> episodes = new EnumMap<>(TerminalReason.class);
    private final Counter steps;
    private final Timer generate;
    private final Timer decodeStep;
    private final DistributionSummary decodeBatch;
    private final Timer prefill;
    private final Timer group;
    private final Counter oversized;
    private final Counter replayed;

    public ActorMetrics(MeterRegistry registry, Supplier<Number> policyVersion) {
        this.registry = registry;
        for (TaskOutcome o : TaskOutcome.values()) {
            tasks.put(o, Counter.builder("rollout.actor.tasks")
                    .description("Tasks taken from rollout.tasks, by outcome").tag("outcome", o.tag())
                    .register(registry));
        }
        for (TerminalReason r : TerminalReason.values()) {
            if (r != TerminalReason.NONE) {
                episodes.put(r, Counter.builder("rollout.actor.episodes")
                        .description("Episodes ended, by terminal reason")
                        .tag("reason", r.name().toLowerCase(Locale.ROOT)).register(registry));
            }
        }
        steps = Counter.builder("rollout.actor.steps")
                .description("Steps published to rollout.steps").register(registry);
        generate = Timer.builder("rollout.actor.generate")
                .description("A group's generation round, from handing its prompts to the actor's decode batch "
                        + "to its completions: the time a group spends waiting on sampling")
                .register(registry);
        decodeStep = Timer.builder("rollout.actor.decode.step")
                .description("One decode step of the actor's batch (one token for every sequence in it)")
                .register(registry);
        decodeBatch = DistributionSummary.builder("rollout.actor.decode.batch")
                .description("Sequences a decode step advanced: how full the actor's one decode batch is")
                .baseUnit("sequences").register(registry);
        prefill = Timer.builder("rollout.actor.decode.prefill")
                .description("Prompts of rounds joining the decode batch, run through the model in one pass")
                .register(registry);
        group = Timer.builder("rollout.actor.group.duration")
                .description("Playing one task's group, from start to the last step's acknowledgement")
                .register(registry);
        oversized = Counter.builder("rollout.actor.steps.oversized")
                .description("Steps too big for a Kafka record; each drops its group").register(registry);
        replayed = Counter.builder("rollout.actor.groups.replayed")
                .description("Groups played again from their start under a new attempt after an env-service outage")
                .register(registry);
        Gauge.builder("rollout.actor.policy.version", policyVersion)
                .description("Adapter version the actor samples with; 0 is the base model").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** {@code generator} with each call timed into {@code rollout.actor.generate}. */
    public BatchGenerator timed(BatchGenerator generator) {
        return (prompts, params, adapter) -> {
            long start = System.nanoTime();
            try {
                return generator.generate(prompts, params, adapter);
            } finally {
                generate.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            }
        };
    }

    /** Records the decode steps and prefills of the actor's {@link ContinuousBatcher}. */
    public ContinuousBatcher.Listener batchListener() {
        return new ContinuousBatcher.Listener() {
            @Override
            public void decoded(int sequences, int rows, long nanos) {
                decodeStep.record(nanos, TimeUnit.NANOSECONDS);
                decodeBatch.record(sequences);
            }

            @Override
            public void admitted(int requests, int sequences, long nanos) {
                prefill.record(nanos, TimeUnit.NANOSECONDS);
            }
        };
    }

    void task(TaskOutcome outcome) {
        tasks.get(outcome).increment();
    }

    void step(TerminalReason reason) {
        steps.increment();
        Counter c = episodes.get(reason);
        if (c != null) {
            c.increment();
        }
    }

    void oversizedStep() {
        oversized.increment();
    }

    void groupReplayed() {
        replayed.increment();
    }

    void groupPlayed(long nanos) {
        group.record(nanos, TimeUnit.NANOSECONDS);
    }
}
