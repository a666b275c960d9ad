package io.rollout.actor.play;

import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.api.CreateSessionRequest;
import io.rollout.env.api.CreateSessionsRequest;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.client.CloseOutcome;
import io.rollout.env.client.CreateOutcome;
import io.rollout.env.client.EnvClient;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens and closes the env sessions of a group: one {@code POST /v1/sessions/batch}
 * ({@link EnvClient#createSessions}) and one {@code POST /v1/sessions/close}
 * ({@link EnvClient#closeSessions}) per {@value CreateSessionsRequest#MAX_SESSIONS} sessions instead
 * of one request per session, each item's outcome as the single call would have had it, so the
 * player treats a failed creation as it did before.
 *
 * <ul>
 *   <li>A failure of a whole create request is every item's failure.</li>
 *   <li>Creations answered 503 {@code batch_answer_full} were not made: they are sent again in a
 *       following request while each request creates at least one; one that creates none ends them
 *       with an {@link EnvInfrastructureException}, as {@link RoundStepper} does with steps.</li>
 *   <li>An env-service older than these endpoints answers them 404 or 405: then these and all later
 *       session calls of this object (and of the players sharing it) go one request per session,
 *       concurrently on the executor, as before the endpoints existed.</li>
 * </ul>
 * A creation's time is that of the request(s) it went through.
 */
final class GroupSessions {

    private static final Logger LOG = LoggerFactory.getLogger(GroupSessions.class);

    private final EnvClient env;
    private final Executor envCalls;
    private final AtomicBoolean singleCalls;

    /** @param singleCalls one request per session from the start, as with an env-service without the batch routes */
    GroupSessions(EnvClient env, Executor envCalls, boolean singleCalls) {
        this.env = env;
        this.envCalls = envCalls;
        this.singleCalls = new AtomicBoolean(singleCalls);
    }

    /** Whether session calls go one request per session (forced, or the service has no batch routes). */
    boolean singleCalls() {
        return singleCalls.get();
    }

    /** Opens one session of {@code envName} per seed; the answers come in the order of {@code seeds}. */
    List<Timed<SessionCreated>> create(String envName, long[] seeds, Map<String, String> config) {
        Map<String, Object> settings = Map.copyOf(config);
        List<CreateSessionRequest> items = Arrays.stream(seeds)
                .mapToObj(seed -> new CreateSessionRequest(envName, seed, settings)).toList();
        if (singleCalls.get()) {
            return singleCreates(items, config);
        }
        List<Timed<SessionCreated>> answers = new ArrayList<>(
                chunked(items, CreateSessionsRequest.MAX_SESSIONS, envCalls, this::batchCreate));
        // Items left without an answer met a service with no batch route: create them one by one.
        int[] unsent = IntStream.range(0, answers.size()).filter(i -> answers.get(i) == null).toArray();
        if (unsent.length > 0) {
            List<Timed<SessionCreated>> singles = singleCreates(Arrays.stream(unsent).mapToObj(items::get).toList(),
                    config);
            for (int k = 0; k < unsent.length; k++) {
                answers.set(unsent[k], singles.get(k));
            }
        }
        return answers;
    }

    /**
     * One chunk through {@code POST /v1/sessions/batch}, sending again the items the service left
     * uncreated. Null answers: not sent, the service has no batch route.
     */
    private List<Timed<SessionCreated>> batchCreate(List<CreateSessionRequest> items) {
        long start = System.nanoTime();
        List<Timed<SessionCreated>> answers = new ArrayList<>(items.size());
        items.forEach(item -> answers.add(null));
        List<Integer> pending = IntStream.range(0, items.size()).boxed().toList();
        while (!pending.isEmpty()) {
            List<CreateOutcome> outcomes;
            try {
                outcomes = env.createSessions(pending.stream().map(items::get).toList());
            } catch (RuntimeException e) {
                if (routeMissing(e)) {
                    return answers;
                }
                long micros = Timed.micros(start);
                pending.forEach(i -> answers.set(i, new Timed<>(null, e, micros)));
                return answers;
            }
            long micros = Timed.micros(start);
            List<Integer> uncreated = new ArrayList<>();
            RuntimeException full = null;
            for (int k = 0; k < pending.size(); k++) {
                CreateOutcome outcome = outcomes.get(k);
                int i = pending.get(k);
                if (outcome.succeeded()) {
                    answers.set(i, new Timed<>(outcome.created(), null, micros));
                } else if (RoundStepper.notApplied(outcome.failure())) {
                    uncreated.add(i);
                    full = outcome.failure();
                } else {
                    answers.set(i, new Timed<>(null, outcome.failure(), micros));
                }
            }
            if (!uncreated.isEmpty() && uncreated.size() == pending.size()) {
                EnvInfrastructureException stuck = new EnvInfrastructureException("env-service created none of "
                        + uncreated.size() + " sessions sent again after " + RoundStepper.BATCH_ANSWER_FULL + ": "
                        + full.getMessage(), full);
                uncreated.forEach(i -> answers.set(i, new Timed<>(null, stuck, micros)));
                return answers;
            }
            pending = uncreated;
        }
        return answers;
    }

    /** One request per item, concurrently on the executor. */
    private List<Timed<SessionCreated>> singleCreates(List<CreateSessionRequest> items, Map<String, String> config) {
        List<CompletableFuture<Timed<SessionCreated>>> created = new ArrayList<>(items.size());
        for (CreateSessionRequest item : items) {
            created.add(CompletableFuture.supplyAsync(
                    () -> Timed.of(() -> env.createSession(item.env(), item.seed(), config)), envCalls));
        }
        return created.stream().map(CompletableFuture::join).toList();
    }

    /** Closes {@code sessions}; a session that cannot be closed is logged, never thrown (it expires on the service). */
    void close(List<String> sessions) {
        if (sessions.isEmpty()) {
            return;
        }
        List<String> unsent = singleCalls.get() ? sessions : chunked(sessions,
                CreateSessionsRequest.MAX_SESSIONS, envCalls, this::batchClose);
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (String session : unsent) {
            closing.add(CompletableFuture.runAsync(() -> {
                try {
                    env.closeSession(session);
                } catch (RuntimeException e) {
                    LOG.warn("cannot close env session {}: {}", session, e.getMessage());
                }
            }, envCalls));
        }
        closing.forEach(CompletableFuture::join);
    }

    /** One chunk through {@code POST /v1/sessions/close}; returns the sessions not sent (the service has no such route). */
    private List<String> batchClose(List<String> sessions) {
        try {
            for (CloseOutcome outcome : env.closeSessions(sessions)) {
                if (!outcome.succeeded()) {
                    LOG.warn("cannot close env session {}: {}", outcome.session(), outcome.failure().getMessage());
                }
            }
            return List.of();
        } catch (RuntimeException e) {
            if (routeMissing(e)) {
                return sessions;
            }
            LOG.warn("cannot close {} env sessions: {}", sessions.size(), e.getMessage());
            return List.of();
        }
    }

    /** Whether a batch request met a service without the route; if so, remembers to call per session from now on. */
    private boolean routeMissing(RuntimeException e) {
        if (!RoundStepper.routeMissing(e)) {
            return false;
        }
        if (singleCalls.compareAndSet(false, true)) {
            LOG.warn("env-service has no batched session routes ({}): opening and closing each session with its "
                    + "own request from now on", e.getMessage());
        }
        return true;
    }

    /**
     * {@code batch} applied to consecutive chunks of at most {@code size} items, the first on this
     * thread, further ones concurrently on {@code executor}; the answers concatenated in order.
     */
    static <I, R> List<R> chunked(List<I> items, int size, Executor executor, Function<List<I>, List<R>> batch) {
        List<CompletableFuture<List<R>>> later = new ArrayList<>();
        for (int from = size; from < items.size(); from += size) {
            List<I> chunk = items.subList(from, Math.min(items.size(), from + size));
            later.add(CompletableFuture.supplyAsync(() -> batch.apply(chunk), executor));
        }
        List<R> answers = new ArrayList<>(batch.apply(items.subList(0, Math.min(items.size(), size))));
        later.forEach(chunk -> answers.addAll(chunk.join()));
        return answers;
    }
}
