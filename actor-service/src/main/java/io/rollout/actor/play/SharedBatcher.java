package io.rollout.actor.play;

import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.sampling.GenerationRequest;
import io.rollout.policy.sampling.SamplingParams;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One decode batch per actor process: the {@link BatchGenerator} every group player of an actor
 * shares. A player's call queues its request and blocks; one generation thread takes what is
 * queued for the adapter of the oldest request and runs ONE merged call
 * ({@code policy::generate} over a list of requests), then hands each caller its completions.
 * A decode step costs about the same for one sequence as for eight, so merging the rounds of
 * concurrent groups multiplies throughput.
 *
 * <p>Rules. When the generation thread is idle it starts at once with what is queued (after
 * {@code linger}, 0 by default). A merged call uses one adapter instance: requests for another
 * wait for a later call, taken oldest first, so a swap never mixes versions within a call and
 * no request starves. A call takes at most {@code maxSequences} prompts (a larger request still
 * goes alone). A failed call fails every caller in it; {@link #close()} fails the waiting
 * callers at once. A request's completions do not depend on what it is merged with
 * ({@link io.rollout.policy.sampling.Generator#generate(List, io.rollout.policy.model.LinearAdapter)}).
 */
public final class SharedBatcher implements BatchGenerator, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SharedBatcher.class);

    /** A generation call over several requests sharing one adapter: {@code policy::generate}. */
    @FunctionalInterface
    public interface MergedGenerator {
        List<List<Completion>> generate(List<GenerationRequest> requests, LoraAdapter adapter);
    }

    /** Told about each merged call once it returned or failed (for metrics). */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = (requests, sequences, nanos) -> { };

        void merged(int requests, int sequences, long nanos);
    }

    /**
     * @param maxSequences prompts per merged call at most, >= 1 (a larger request runs alone)
     * @param linger how long an idle generation thread waits for more requests before a call; 0 = none
     */
    public record Settings(int maxSequences, Duration linger) {

        public static final int DEFAULT_MAX_SEQUENCES = 64;

        public Settings {
            if (maxSequences < 1) {
                throw new IllegalArgumentException("max batch sequences must be >= 1, got " + maxSequences);
            }
            Objects.requireNonNull(linger, "linger");
            if (linger.isNegative()) {
                throw new IllegalArgumentException("batch linger must be >= 0, got " + linger);
            }
        }

        /** 64 sequences per call, no linger. */
        public static Settings defaults() {
            return new Settings(DEFAULT_MAX_SEQUENCES, Duration.ZERO);
        }
    }

    private final MergedGenerator generator;
    private final Settings settings;
    private final Listener listener;
    private final LongSupplier nanoClock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition queued = lock.newCondition();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final List<Pending> running = new ArrayList<>();
    private final Thread thread;
    private boolean closed;
    private String closedReason;

    /** Starts the generation thread, named {@code threadName}. */
    public SharedBatcher(MergedGenerator generator, Settings settings, Listener listener, String threadName) {
        this(generator, settings, listener, threadName, System::nanoTime);
    }

    SharedBatcher(MergedGenerator generator, Settings settings, Listener listener, String threadName,
            LongSupplier nanoClock) {
        this.generator = Objects.requireNonNull(generator, "generator");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.thread = new Thread(this::loop, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Queues the request and waits for its completions. Throws what the merged call threw,
     * an {@link IllegalStateException} once the batcher is closed, and a
     * {@link CancellationException} (interrupt flag set) when the caller is interrupted.
     */
    @Override
    public List<Completion> generate(List<int[]> prompts, SamplingParams params, LoraAdapter adapter) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        Pending p = new Pending(new GenerationRequest(prompts, params), adapter);
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException(closedReason);
            }
            queue.addLast(p);
            queued.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            return p.result.get();
        } catch (InterruptedException e) {
            withdraw(p);
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for generation");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("generation failed: " + cause, cause);
        }
    }

    /** Fails the queued and running callers and stops the generation thread after its current call. */
    @Override
    public void close() {
        shutDown("the generation batcher is closed");
    }

    private void shutDown(String reason) {
        List<Pending> waiting;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            closedReason = reason;
            waiting = new ArrayList<>(queue);
            waiting.addAll(running);
            queue.clear();
            queued.signalAll();
        } finally {
            lock.unlock();
        }
        IllegalStateException e = new IllegalStateException(reason);
        for (Pending p : waiting) {
            p.result.completeExceptionally(e);
        }
    }

    /** Waits up to {@code timeout} for the generation thread to end its call; true if it ended. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        thread.join(Math.max(1, timeout.toMillis()));
        return !thread.isAlive();
    }

    /** Requests queued and not yet taken into a call (for tests). */
    int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    private void withdraw(Pending p) {
        lock.lock();
        try {
            queue.remove(p);
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        try {
            while (serveOne()) {
                // until closed
            }
        } catch (Throwable e) {
            LOG.error("the generation batcher's thread failed; failing every waiting round", e);
            shutDown("the generation batcher's thread failed: " + e);
        }
    }

    /** Runs one merged call; false once closed. */
    private boolean serveOne() {
        List<Pending> call = next();
        if (call == null) {
            return false;
        }
        List<GenerationRequest> requests = new ArrayList<>(call.size());
        int sequences = 0;
        for (Pending p : call) {
            requests.add(p.request);
            sequences += p.request.prompts().size();
        }
        long start = nanoClock.getAsLong();
        try {
            List<List<Completion>> out = generator.generate(requests, call.get(0).adapter);
            if (out.size() != call.size()) {
                throw new IllegalStateException("the generator answered " + out.size() + " results to "
                        + call.size() + " requests");
            }
            for (int i = 0; i < call.size(); i++) {
                call.get(i).result.complete(out.get(i));
            }
        } catch (Throwable e) {
            for (Pending p : call) {
                p.result.completeExceptionally(e);
            }
        } finally {
            lock.lock();
            try {
                running.clear();
            } finally {
                lock.unlock();
            }
            listener.merged(call.size(), sequences, nanoClock.getAsLong() - start);
        }
        return true;
    }

    /** The next call's requests (oldest first, one adapter, within the bound); null once closed. */
    private List<Pending> next() {
        lock.lock();
        try {
            while (queue.isEmpty() && !closed) {
                queued.awaitUninterruptibly();
            }
            long lingerNanos = settings.linger().toNanos();
            if (lingerNanos > 0) {
                long deadline = nanoClock.getAsLong() + lingerNanos;
                long left;
                while (!closed && queuedSequences() < settings.maxSequences()
                        && (left = deadline - nanoClock.getAsLong()) > 0) {
                    try {
                        queued.awaitNanos(left);
                    } catch (InterruptedException e) {
                        break; // nobody interrupts this thread; run with what is queued
                    }
                }
            }
            if (closed) {
                return null;
            }
            Pending head = queue.removeFirst();
            List<Pending> call = new ArrayList<>();
            call.add(head);
            int sequences = head.request.prompts().size();
            for (Iterator<Pending> it = queue.iterator(); it.hasNext() && sequences < settings.maxSequences(); ) {
                Pending p = it.next();
                int n = p.request.prompts().size();
                if (p.adapter == head.adapter && sequences + n <= settings.maxSequences()) {
                    it.remove();
                    call.add(p);
                    sequences += n;
                }
            }
            running.addAll(call);
            return call;
        } finally {
            lock.unlock();
        }
    }

    private int queuedSequences() {
        int n = 0;
        for (Pending p : queue) {
            n += p.request.prompts().size();
        }
        return n;
    }

    /** One caller's request, the adapter it samples with (compared by identity) and its answer. */
    private static final class Pending {
        final GenerationRequest request;
        final LoraAdapter adapter;
        final CompletableFuture<List<Completion>> result = new CompletableFuture<>();

        Pending(GenerationRequest request, LoraAdapter adapter) {
            this.request = request;
            this.adapter = adapter;
        }
    }
}
