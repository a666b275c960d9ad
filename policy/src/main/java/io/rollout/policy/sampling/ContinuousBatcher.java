package io.rollout.policy.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.rollout.policy.model.DecoderModel;
import io.rollout.policy.model.KvCache;
import io.rollout.policy.model.LinearAdapter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching: one decode batch that every caller's sequences join and leave. One
 * thread runs a loop of decode steps over all sequences in the batch; a request submitted
 * meanwhile is prefilled (its prompts in one forward pass) and merged into the batch between
 * two steps, and a sequence that ends stops costing a step once the batch is compacted. At
 * model sizes where a decode step costs about the same for one sequence as for thirty-two,
 * callers that each decode a few sequences get the throughput of one big batch without
 * waiting for each other.
 *
 * <p>Rules. A request's sequences draw from the same random streams as in
 * {@link Generator#generate} (sequence i from {@code seed + i}) and get its logits (rows are
 * left-padded and positions count real tokens), so a request samples what it samples alone,
 * whatever it shares the batch with. A batch runs with one adapter instance, so a swap never
 * mixes versions within a request or a decode step: a request for a new instance opens a
 * second batch, which decodes step for step beside the old one while the old one drains and
 * takes only requests of its own instance, so a swap starts generating at the next step
 * instead of after the longest round in flight. Two batches at most: a request for a third
 * instance waits until one has drained, and requests are admitted in arrival order, so none
 * starves. At most {@code maxSequences} sequences decode at once (a bigger request runs
 * alone). A failed step fails every request of its batch; {@link #close()} fails the waiting
 * and running ones.
 *
 * <p>Every array lives in sub-managers of the model's manager that are closed when the
 * batch they belong to is rebuilt, drained or failed.
 */
public final class ContinuousBatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ContinuousBatcher.class);

    /**
     * Batches decoding at once, each with its own adapter instance: the one a swap replaced,
     * draining, and the new one, which starts at once instead of waiting for the drain.
     */
    static final int MAX_BATCHES = 2;

    /** Told about the batch's work, for metrics; called on the generation thread. */
    public interface Listener {
        Listener NONE = new Listener() { };

        /** One decode step over {@code sequences} sampling sequences (of {@code rows} in the batch). */
        default void decoded(int sequences, int rows, long nanos) { }

        /** {@code requests} joined the batch with {@code sequences} prompts, prefilled in {@code nanos}. */
        default void admitted(int requests, int sequences, long nanos) { }
    }

    /** @param maxSequences sequences decoded together at most, >= 1 (a larger request runs alone) */
    public record Settings(int maxSequences) {

        public static final int DEFAULT_MAX_SEQUENCES = 64;

        public Settings {
            if (maxSequences < 1) {
                throw new IllegalArgumentException("max batch sequences must be >= 1, got " + maxSequences);
            }
        }

        public static Settings defaults() {
            return new Settings(DEFAULT_MAX_SEQUENCES);
        }
    }

    private final Generator generator;
    private final DecoderModel model;
    private final Settings settings;
    private final Listener listener;
    private final LongSupplier nanoClock;
    private final ReentrantLock lock = new ReentrantLock();
    /** Held by the generation thread from admitting requests to the end of a step. */
    private final ReentrantLock stepLock = new ReentrantLock();
    private final Condition queued = lock.newCondition();
    private final ArrayDeque<Request> queue = new ArrayDeque<>();
    /** Requests admitted and not yet answered; guarded by {@link #lock}. */
    private final Set<Request> running = new LinkedHashSet<>();
    private final Thread thread;
    private boolean closed;
    private String closedReason;

    /** The batches decoding, oldest first: touched by the generation thread only. */
    private final List<Batch> batches = new ArrayList<>();

    public ContinuousBatcher(Generator generator, Settings settings, Listener listener, String threadName) {
        this(generator, settings, listener, threadName, System::nanoTime);
    }

    ContinuousBatcher(Generator generator, Settings settings, Listener listener, String threadName,
            LongSupplier nanoClock) {
        this.generator = Objects.requireNonNull(generator, "generator");
        this.model = generator.model();
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.thread = new Thread(this::loop, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Queues one completion per prompt, sampled with {@code adapter} (null: the base model).
     * Bad input (an empty prompt, a token outside the vocabulary, too many positions) is
     * refused here, before it can reach the batch.
     */
    public CompletableFuture<List<Completion>> submit(List<int[]> prompts, SamplingParams params,
            LinearAdapter adapter) {
        if (prompts.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        generator.check(prompts, params);
        Request r = new Request(List.copyOf(prompts), params, adapter, generator.stops(params));
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException(closedReason);
            }
            queue.addLast(r);
            queued.signalAll();
        } finally {
            lock.unlock();
        }
        return r.result;
    }

    /**
     * {@link #submit} and wait. Throws what the batch threw, an {@link IllegalStateException}
     * once closed, and a {@link CancellationException} (interrupt flag set) when the caller is
     * interrupted; the request's sequences then leave the batch.
     */
    public List<Completion> generate(List<int[]> prompts, SamplingParams params, LinearAdapter adapter) {
        CompletableFuture<List<Completion>> result = submit(prompts, params, adapter);
        try {
            return result.get();
        } catch (InterruptedException e) {
            result.cancel(false);
            awaitStepBoundary();
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for generation");
        } catch (ExecutionException e) {
            awaitStepBoundary();
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("generation failed: " + cause, cause);
        }
    }

    /**
     * Returns once the step in progress (if any) has ended. A caller whose request was cancelled
     * or failed calls it before returning, so that the adapter it leased is no longer read by
     * its batch when the caller releases it: later steps skip the request's rows, and its batch
     * runs on only for requests of the same adapter that still wait, which hold their own lease.
     */
    private void awaitStepBoundary() {
        stepLock.lock();
        stepLock.unlock();
    }

    /** Fails the queued and running requests; the generation thread stops after its current step. */
    @Override
    public void close() {
        shutDown("the generation batcher is closed");
    }

    /** Waits up to {@code timeout} for the generation thread to end; true if it ended. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        thread.join(Math.max(1, timeout.toMillis()));
        return !thread.isAlive();
    }

    private void shutDown(String reason) {
        List<Request> waiting;
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
        for (Request r : waiting) {
            r.result.completeExceptionally(e);
        }
    }

    private void loop() {
        try {
            while (awaitWork()) {
                stepLock.lock();
                try {
                    admit();
                    for (Iterator<Batch> it = batches.iterator(); it.hasNext(); ) {
                        Batch batch = it.next();
                        try {
                            batch.step();
                        } catch (RuntimeException e) {
                            LOG.warn("a generation step failed; failing the {} requests in its batch",
                                    batch.requests.size(), e);
                            batch.fail(e);
                        }
                        if (batch.rows.isEmpty() && batch.admitted.isEmpty()) {
                            batch.drop();
                            it.remove();
                        }
                    }
                } finally {
                    stepLock.unlock();
                }
            }
        } catch (Throwable e) {
            LOG.error("the generation batcher's thread failed; failing every waiting request", e);
            shutDown("the generation batcher's thread failed: " + e);
        } finally {
            batches.forEach(Batch::drop);
            batches.clear();
        }
    }

    /** Waits until a batch has rows or requests are queued; false once closed. */
    private boolean awaitWork() {
        lock.lock();
        try {
            while (batches.isEmpty() && queue.isEmpty() && !closed) {
                queued.awaitUninterruptibly();
            }
            return !closed;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Hands the queued requests that may start now to their batches, in arrival order: a request
     * joins the batch of its adapter, or opens one if fewer than {@link #MAX_BATCHES} run; the
     * first request that cannot start (the bound, or every batch slot taken by other versions)
     * stops the rest behind it.
     */
    private void admit() {
        lock.lock();
        try {
            int live = 0;
            for (Batch b : batches) {
                live += b.liveRows();
            }
            for (Iterator<Request> it = queue.iterator(); it.hasNext(); ) {
                Request r = it.next();
                if (r.result.isDone()) { // cancelled while queued
                    it.remove();
                    continue;
                }
                int n = r.prompts.size();
                if (live > 0 && live + n > settings.maxSequences()) {
                    break;
                }
                Batch target = null;
                for (Batch b : batches) {
                    if (b.adapter == r.adapter) {
                        target = b;
                    }
                }
                if (target == null) {
                    if (batches.size() >= MAX_BATCHES) {
                        break; // a batch drains first; nothing behind it overtakes it
                    }
                    target = new Batch(r.adapter);
                    batches.add(target);
                }
                it.remove();
                target.admitted.add(r);
                target.requests.add(r);
                running.add(r);
                live += n;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The sequences decoding with one adapter instance: their rows, in the order of the cache's
     * batch dimension, and the cache. Touched by the generation thread only.
     */
    private final class Batch {
        final LinearAdapter adapter;
        final List<Row> rows = new ArrayList<>();
        /** Requests handed to this batch and not yet prefilled. */
        final List<Request> admitted = new ArrayList<>();
        /** Requests this batch has taken and not yet answered or failed. */
        final Set<Request> requests = new LinkedHashSet<>();
        KvCache cache;

        Batch(LinearAdapter adapter) {
            this.adapter = adapter;
        }

        /** Joins the admitted requests, compacts when most rows have ended, and runs one decode step. */
        void step() {
            if (!admitted.isEmpty()) {
                List<Request> joining = new ArrayList<>(admitted);
                admitted.clear();
                join(joining);
            } else if (dead() * 2 >= rows.size() && !rows.isEmpty()) {
                rebuild(null, List.of());
            }
            if (liveRows() > 0) {
                decode();
            }
            if (liveRows() == 0) {
                drop();
            }
        }

        /** Prefills the admitted prompts and merges their sequences into the batch. */
        private void join(List<Request> admit) {
            long start = nanoClock.getAsLong();
            List<Row> joining = new ArrayList<>();
            int promptLen = 0;
            for (Request r : admit) {
                for (int i = 0; i < r.prompts.size(); i++) {
                    int[] p = r.prompts.get(i);
                    joining.add(new Row(r, new SequenceState(r.params, i, r.stops, generator.decoder()), p));
                    promptLen = Math.max(promptLen, p.length);
                }
            }
            int n = joining.size();
            long[] ids = new long[n * promptLen];
            long[] positions = new long[n * promptLen];
            float[] mask = new float[n * promptLen];
            for (int b = 0; b < n; b++) {
                int[] p = joining.get(b).prompt;
                int pad = promptLen - p.length;
                for (int j = 0; j < promptLen; j++) {
                    int i = b * promptLen + j;
                    ids[i] = j < pad ? 0 : p[j - pad];
                    positions[i] = Math.max(0, j - pad);
                    mask[i] = j < pad ? 0 : 1;
                }
            }
            KvCache fresh = model.newCache(model.manager(), n, promptLen);
            try {
                float[] logits;
                try (NDManager scope = model.manager().newSubManager()) {
                    Shape shape = new Shape(n, promptLen);
                    NDArray hidden = model.hidden(scope.create(ids, shape), scope.create(positions, shape),
                            scope.create(mask, shape), fresh, adapter);
                    logits = lastLogits(hidden);
                }
                sample(joining, logits);
                listener.admitted(admit.size(), n, nanoClock.getAsLong() - start);
                rebuild(fresh, joining);
            } finally {
                fresh.close();
            }
        }

        /**
         * Replaces the batch's cache by one holding its sampling rows followed by the sampling
         * rows of {@code joining} (whose keys and values are in {@code fresh}), trimmed to the
         * slots those rows use plus room for the tokens they may still draw.
         */
        private void rebuild(KvCache fresh, List<Row> joining) {
            List<Row> kept = new ArrayList<>();
            List<KvCache.Part> parts = new ArrayList<>();
            int width = 0;
            int room = 0;
            for (int round = 0; round < 2; round++) {
                List<Row> from = round == 0 ? rows : joining;
                KvCache source = round == 0 ? cache : fresh;
                List<Integer> indices = new ArrayList<>();
                int partWidth = 0;
                for (int b = 0; b < from.size(); b++) {
                    Row row = from.get(b);
                    if (row.sampling()) {
                        indices.add(b);
                        kept.add(row);
                        partWidth = Math.max(partWidth, row.length);
                        room = Math.max(room, row.seq.remaining());
                    }
                }
                if (!indices.isEmpty()) {
                    parts.add(new KvCache.Part(source, indices.stream().mapToInt(Integer::intValue).toArray(),
                            partWidth));
                    width = Math.max(width, partWidth);
                }
            }
            KvCache merged = parts.isEmpty() ? null : KvCache.merge(model.manager(), parts, width, width + room);
            if (cache != null) {
                cache.close();
            }
            cache = merged;
            rows.clear();
            rows.addAll(kept);
            forgetFinished();
        }

        /** One decode step: every row feeds its last token; sampling rows draw the next. */
        private void decode() {
            long start = nanoClock.getAsLong();
            int batch = rows.size();
            int filled = cache.length();
            int keys = filled + 1;
            long[] ids = new long[batch];
            long[] positions = new long[batch];
            float[] mask = new float[batch * keys];
            int sampling = 0;
            for (int b = 0; b < batch; b++) {
                Row row = rows.get(b);
                ids[b] = row.last;
                positions[b] = row.length;
                for (int j = keys - 1 - row.length; j < keys; j++) {
                    mask[b * keys + j] = 1;
                }
                if (row.sampling()) {
                    sampling++;
                }
            }
            float[] logits;
            try (NDManager scope = model.manager().newSubManager()) {
                NDArray hidden = model.hidden(scope.create(ids, new Shape(batch, 1)),
                        scope.create(positions, new Shape(batch, 1)), scope.create(mask, new Shape(batch, keys)),
                        cache, adapter);
                logits = lastLogits(hidden);
            }
            for (Row row : rows) {
                row.length++;
            }
            sample(rows, logits);
            listener.decoded(sampling, batch, nanoClock.getAsLong() - start);
        }

        /** Fails every request this batch has taken (a failed step) and drops its rows. */
        void fail(RuntimeException e) {
            List<Request> failed = new ArrayList<>(requests);
            admitted.clear();
            lock.lock();
            try {
                running.removeAll(failed);
            } finally {
                lock.unlock();
            }
            for (Request r : failed) {
                r.result.completeExceptionally(e);
            }
            drop();
        }

        /** Frees the cache and forgets the rows. */
        void drop() {
            rows.clear();
            if (cache != null) {
                cache.close();
                cache = null;
            }
            forgetFinished();
        }

        /** Requests answered, failed or whose caller stopped waiting leave once their rows are gone. */
        private void forgetFinished() {
            requests.removeIf(r -> r.result.isDone());
            lock.lock();
            try {
                running.removeIf(r -> r.result.isDone());
            } finally {
                lock.unlock();
            }
        }

        int liveRows() {
            int n = 0;
            for (Row r : rows) {
                if (r.sampling()) {
                    n++;
                }
            }
            return n;
        }

        private int dead() {
            return rows.size() - liveRows();
        }
    }

    private float[] lastLogits(NDArray hidden) {
        NDArray last = hidden.get(new NDIndex(":, -1:, :"));
        return model.logits(last).toType(DataType.FLOAT32, false).toFloatArray();
    }

    /** Draws the next token of every sampling row and answers the requests whose rows all ended. */
    private void sample(List<Row> batch, float[] logits) {
        int vocab = model.config().vocabSize();
        for (int b = 0; b < batch.size(); b++) {
            Row row = batch.get(b);
            if (!row.sampling()) {
                continue;
            }
            row.last = row.seq.advance(logits, b * vocab, vocab);
            if (row.seq.done() && --row.request.open == 0) {
                answer(row.request);
            }
        }
    }

    private void answer(Request r) {
        List<Completion> out = new ArrayList<>(r.seqs.size());
        for (SequenceState s : r.seqs) {
            out.add(s.completion());
        }
        lock.lock();
        try {
            running.remove(r);
        } finally {
            lock.unlock();
        }
        r.result.complete(out);
    }

    /** One caller's request: its prompts, how to sample them, with what, and its answer. */
    private static final class Request {
        final List<int[]> prompts;
        final SamplingParams params;
        final LinearAdapter adapter;
        final Set<Integer> stops;
        final List<SequenceState> seqs = new ArrayList<>();
        final CompletableFuture<List<Completion>> result = new CompletableFuture<>();
        /** Sequences still sampling. */
        int open;

        Request(List<int[]> prompts, SamplingParams params, LinearAdapter adapter, Set<Integer> stops) {
            this.prompts = prompts;
            this.params = params;
            this.adapter = adapter;
            this.stops = stops;
            this.open = prompts.size();
        }
    }

    /** One sequence in the batch. */
    private static final class Row {
        final Request request;
        final SequenceState seq;
        final int[] prompt;
        /** Slots of the cache holding this sequence's tokens (right-aligned at the cache's length). */
        int length;
        /** The token drawn last, fed at the next step. */
        int last;

        Row(Request request, SequenceState seq, int[] prompt) {
            this.request = request;
            this.seq = seq;
            this.prompt = prompt;
            this.length = prompt.length;
            request.seqs.add(seq);
        }

        /** Still drawing tokens for a caller that still waits. */
        boolean sampling() {
            return !seq.done() && !request.result.isDone();
        }
    }
}
