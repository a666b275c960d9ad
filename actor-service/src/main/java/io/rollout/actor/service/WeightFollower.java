package io.rollout.actor.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.AdapterVersion;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.weights.WeightReader;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows {@code policy.weights} and keeps the actor's {@link AdapterRef} on the newest
 * verified adapter version: at start it reads the topic to its end and begins with the newest
 * version there (or the base model), then swaps each new version in as it arrives. Players
 * pick a swap up at their next generation round; a replaced adapter is closed once no round
 * samples with it any more. An adapter that cannot be loaded (wrong shapes, say) is logged and
 * skipped; the current one stays.
 *
 * <p>{@link #generated} measures the swap latency: from the version's manifest timestamp (the
 * start of its publish) to the first step this actor generated with it
 * ({@code rollout.actor.adapter.swap.latency}).
 */
public final class WeightFollower implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WeightFollower.class);

    private final WeightReader reader;
    private final Function<byte[], LoraAdapter> loader;
    private final AdapterRef ref;
    private final Timer swapLatency;
    private final Timer load;
    private final Map<Long, Long> publishedAtMs = new ConcurrentHashMap<>();
    private volatile long lastMeasured = -1;
    private volatile Throwable failure;

    /**
     * @param loader turns a version's bytes into an adapter, e.g. {@code policy::adapterFromBytes}
     */
    public WeightFollower(Properties kafka, TopicCatalog topics, String adapterName,
            Function<byte[], LoraAdapter> loader, MeterRegistry registry, Duration topicWait) {
        this.loader = Objects.requireNonNull(loader, "loader");
        this.ref = new AdapterRef(AdapterVersion.BASE, WeightFollower::release);
        this.swapLatency = Timer.builder("rollout.actor.adapter.swap.latency")
                .description("From a version's manifest timestamp to the first step this actor generated with it")
                .publishPercentiles(0.5, 0.99).register(registry);
        this.load = Timer.builder("rollout.actor.adapter.load")
                .description("Turning a verified version's bytes into an adapter the decode batch can use")
                .register(registry);
        this.reader = WeightReader.builder(kafka, topics, adapterName).meterRegistry(registry).topicWait(topicWait)
                .open();
    }

    /**
     * Reads {@code policy.weights} to its end, swaps in the newest version found there and
     * follows the topic from then on, on the reader's thread.
     */
    public void start(Duration catchUpTimeout) throws TimeoutException {
        reader.catchUp(catchUpTimeout).ifPresent(this::swap);
        reader.addListener(this::swap);
        // A reader that stopped (an Error on its thread) leaves the actor on an old version for good.
        reader.onFailure(t -> {
            if (failure == null) {
                failure = t;
            }
        });
        reader.start();
    }

    /** An Error met while loading a version, or what stopped the weight reader (the actor is broken then); or null. */
    public Throwable failure() {
        return failure;
    }

    /** The reference players sample through. */
    public AdapterRef adapter() {
        return ref;
    }

    /** The version players currently get. */
    public long version() {
        return ref.get().version();
    }

    /** Tells the follower a step was generated with {@code version}; the first one per version is timed. */
    public void generated(long version) {
        if (version <= lastMeasured) {
            return; // the common case, on every step: one volatile read
        }
        Long at;
        synchronized (this) {
            if (version <= lastMeasured) {
                return;
            }
            lastMeasured = version;
            at = publishedAtMs.remove(version);
            publishedAtMs.keySet().removeIf(k -> k < version);
        }
        if (at != null) {
            long ms = Math.max(0, System.currentTimeMillis() - at);
            swapLatency.record(ms, TimeUnit.MILLISECONDS);
            LOG.info("first step with adapter version {}: {} ms after its manifest", version, ms);
        }
    }

    private void swap(io.rollout.weights.AdapterVersion published) {
        long v = published.manifest().getVersion();
        if (v <= ref.get().version()) {
            return;
        }
        LoraAdapter adapter;
        long loadStart = System.nanoTime();
        try {
            adapter = loader.apply(published.bytes());
            load.record(System.nanoTime() - loadStart, TimeUnit.NANOSECONDS);
        } catch (RuntimeException e) {
            LOG.error("adapter version {} cannot be loaded; keeping version {}", v, ref.get().version(), e);
            return;
        } catch (Throwable e) {
            // An Error (out of memory, say) is the actor's failure, not the version's: the service stops on it.
            LOG.error("loading adapter version {} failed with an error; the actor stops", v, e);
            failure = e;
            return;
        }
        publishedAtMs.put(v, published.manifest().getCreatedAtMs());
        ref.set(new AdapterVersion(v, adapter));
        LOG.info("swapped in adapter version {}", v);
    }

    private static void release(AdapterVersion replaced) {
        if (replaced.adapter() != null) {
            replaced.adapter().close();
        }
    }

    /** Stops following; the current adapter stays open for rounds still running. */
    @Override
    public void close() {
        reader.close();
    }
}
