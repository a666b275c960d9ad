package io.rollout.learner.trainer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/** The trainer's meters, named {@code rollout.trainer.*}. */
public final class TrainerMetrics {

    private final AtomicReference<UpdateStats> last = new AtomicReference<>(
            new UpdateStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    private volatile long version;
    private volatile double samplesPerSecond;
    private volatile double tokensPerSecond;
    private final Counter samples;
    private final Counter tokens;
    private final Counter staleSamples;
    private final Counter deadLettered;
    private final Counter ignored;
    private final DistributionSummary staleness;
    private final Timer batchWait;
    private final Timer update;
    private final Timer publish;
    private final Timer checkpoint;
    private final Counter unreadableCheckpoints;
    private final Counter lostSamples;
    private final Counter abandonedUpdates;
    private final Counter publishRetries;
    private volatile long finishedEntries;

    public TrainerMetrics(MeterRegistry registry) {
        Gauge.builder("rollout.trainer.version", () -> version)
                .description("Adapter version: updates applied since the base model").register(registry);
        gauge(registry, "rollout.trainer.loss", "Loss of the last update (token mean)", s -> s.loss());
        gauge(registry, "rollout.trainer.loss.policy", "Clipped policy-gradient term of the last update", s -> s.policyLoss());
        gauge(registry, "rollout.trainer.loss.kl", "k3 KL to the base model of the last update", s -> s.kl());
        gauge(registry, "rollout.trainer.entropy", "Mean token entropy of the last update", s -> s.entropy());
        gauge(registry, "rollout.trainer.clip.fraction", "Share of tokens whose ratio was clipped in the last update",
                s -> s.clipFraction());
        gauge(registry, "rollout.trainer.grad.norm", "Mean gradient norm before clipping in the last update",
                s -> s.gradNormMean());
        gauge(registry, "rollout.trainer.ggpo.perturbation.norm", "Mean Frobenius norm of the GGPO perturbation "
                + "in the last update (0 in mode none)", s -> s.perturbationNormMean());
        Gauge.builder("rollout.trainer.samples.per.second", () -> samplesPerSecond)
                .description("Samples per second of update time in the last update").register(registry);
        Gauge.builder("rollout.trainer.tokens.per.second", () -> tokensPerSecond)
                .description("Response tokens per second of update time in the last update").register(registry);
        samples = Counter.builder("rollout.trainer.samples").description("Samples trained on").register(registry);
        tokens = Counter.builder("rollout.trainer.tokens").description("Response tokens trained on").register(registry);
        staleSamples = Counter.builder("rollout.trainer.samples.stale")
                .description("Samples dropped for being more than max-staleness versions old").register(registry);
        deadLettered = Counter.builder("rollout.trainer.samples.dead.lettered")
                .description("Undecodable or invalid samples sent to the dead-letter topic").register(registry);
        ignored = Counter.builder("rollout.trainer.samples.ignored")
                .description("Duplicate samples, and samples of groups already trained or discarded").register(registry);
        staleness = DistributionSummary.builder("rollout.trainer.staleness").baseUnit("versions")
                .description("Trainer version minus the version that generated a sample, at training time")
                .serviceLevelObjectives(0.5, 1, 2, 3, 4, 8).register(registry);
        batchWait = Timer.builder("rollout.trainer.batch.wait")
                .description("Time from the end of an update until the next batch was complete").register(registry);
        update = Timer.builder("rollout.trainer.update").description("Time of one update (all epochs)")
                .register(registry);
        publish = Timer.builder("rollout.trainer.publish")
                .description("Time to publish an adapter version to policy.weights").register(registry);
        checkpoint = Timer.builder("rollout.trainer.checkpoint").description("Time to write a checkpoint")
                .register(registry);
        unreadableCheckpoints = Counter.builder("rollout.trainer.checkpoints.unreadable")
                .description("Checkpoints skipped at start because they did not read back whole").register(registry);
        lostSamples = Counter.builder("rollout.trainer.samples.lost")
                .description("Samples deleted by retention before they were trained (only with --accept-sample-loss)")
                .register(registry);
        abandonedUpdates = Counter.builder("rollout.trainer.updates.abandoned")
                .description("Updates abandoned by a stop; their groups stay untrained").register(registry);
        publishRetries = Counter.builder("rollout.trainer.publish.retries")
                .description("Publishes of a version that failed and were tried again (broker unreachable)")
                .register(registry);
        Gauge.builder("rollout.trainer.finished.groups.entries", () -> finishedEntries)
                .description("Ranges and ids the list of finished groups keeps (grows with gaps, not with groups)")
                .register(registry);
    }

    /**
     * The admission bound the trainer applies, so that a dashboard or an alert can set the
     * staleness it sees against it without knowing the run's settings.
     */
    void stalenessBound(MeterRegistry registry, int maxStaleness) {
        Gauge.builder("rollout.trainer.staleness.bound", () -> maxStaleness).baseUnit("versions")
                .description("Versions a sample may lag behind the trainer and still be trained on (--max-staleness)")
                .register(registry);
    }

    private void gauge(MeterRegistry registry, String name, String description,
            java.util.function.ToDoubleFunction<UpdateStats> f) {
        Gauge.builder(name, last, r -> f.applyAsDouble(r.get())).description(description).register(registry);
    }

    void version(long v) {
        version = v;
    }

    void updated(UpdateStats stats, Duration took) {
        last.set(stats);
        update.record(took);
        samples.increment(stats.samples());
        tokens.increment(stats.tokens());
        double seconds = Math.max(1e-9, took.toNanos() / 1e9);
        samplesPerSecond = stats.samples() / seconds;
        tokensPerSecond = stats.tokens() / seconds;
    }

    void staleness(long versions) {
        staleness.record(versions);
    }

    void stale(int n) {
        staleSamples.increment(n);
    }

    void deadLettered() {
        deadLettered.increment();
    }

    void ignored() {
        ignored.increment();
    }

    void batchWait(Duration d) {
        batchWait.record(d);
    }

    void published(Duration d) {
        publish.record(d);
    }

    void checkpointed(Duration d) {
        checkpoint.record(d);
    }

    void unreadableCheckpoint() {
        unreadableCheckpoints.increment();
    }

    void lostSamples(long n) {
        lostSamples.increment(n);
    }

    void abandonedUpdate() {
        abandonedUpdates.increment();
    }

    void publishRetry() {
        publishRetries.increment();
    }

    void finishedGroupEntries(long n) {
        finishedEntries = n;
    }
}
