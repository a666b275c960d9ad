package io.rollout.actor.play;

import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.StepResult;
import io.rollout.env.api.StepBatchRequest;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import io.rollout.env.client.EnvSessionLostException;
import io.rollout.env.client.EnvUnavailableException;
import io.rollout.env.client.StepOutcome;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Steps the env sessions of one round: one {@code POST /v1/steps} ({@link EnvClient#stepAll}) per
 * {@value StepBatchRequest#MAX_STEPS} sessions instead of one request per session, each item's
 * outcome answered as {@link EnvClient#step} would have answered it, so the player treats a
 * failed item as it treated a failed step.
 *
 * <ul>
 *   <li>A failure of a whole batch request is every item's failure (whether any was applied is
 *       unknown, as with a step whose answer is lost).</li>
 *   <li>Items answered 503 {@code batch_answer_full} were not applied: they are sent again, alone,
 *       in a following batch, while each batch applies at least one of them. A batch that applies
 *       none (env-service keeps every item out) ends them with an {@link EnvInfrastructureException}
 *       naming {@code batch_answer_full}: a fault of the service, <em>not</em> an outage in
 *       {@link GroupPlayer#isOutage}'s sense, because sending it again later would fail the same
 *       way; so those episodes end as {@code INFRA_ERROR} instead of the group being played
 *       again and again.</li>
 *   <li>An env-service older than the batch endpoint answers it 404 (no route) or 405: then these
 *       and all later steps of this stepper (and of the players sharing it) go one request per
 *       session, concurrently on the executor, as before the endpoint existed.</li>
 * </ul>
 * An item's time is that of the batch request(s) it went through, from the first send to the
 * answer that applied it.
 */
final class RoundStepper {

    private static final Logger LOG = LoggerFactory.getLogger(RoundStepper.class);

    /** The kind env-service gives a batch item it left unapplied because the answer was full. */
    static final String BATCH_ANSWER_FULL = "batch_answer_full";

    private final EnvClient env;
    private final Executor envCalls;
    private final AtomicBoolean singleSteps;

    /**
     * @param singleSteps step each session with its own request from the start, as with an
     *                    env-service that has no batch endpoint
     */
    RoundStepper(EnvClient env, Executor envCalls, boolean singleSteps) {
        this.env = env;
        this.envCalls = envCalls;
        this.singleSteps = new AtomicBoolean(singleSteps);
    }

    /** Whether steps go one request per session (forced, or the service has no batch endpoint). */
    boolean singleSteps() {
        return singleSteps.get();
    }

    /** Applies each item's action to its session; the answers come in the order of {@code items}. */
    List<Timed<StepResult>> step(List<StepBatchRequest.Item> items) {
        if (singleSteps.get()) {
            return single(items);
        }
        // The first chunk on this thread, any further ones (groups over MAX_STEPS) concurrently beside it.
        List<Timed<StepResult>> answers = new ArrayList<>(GroupSessions.chunked(items,
                StepBatchRequest.MAX_STEPS, envCalls, this::batch));
        // Items left without an answer met a service with no batch endpoint: step them one by one.
        int[] unsent = IntStream.range(0, answers.size()).filter(i -> answers.get(i) == null).toArray();
        if (unsent.length > 0) {
            List<Timed<StepResult>> singles = single(Arrays.stream(unsent).mapToObj(items::get).toList());
            for (int k = 0; k < unsent.length; k++) {
                answers.set(unsent[k], singles.get(k));
            }
        }
        return answers;
    }

    /**
     * One chunk of at most MAX_STEPS items through {@code POST /v1/steps}, resending the items the
     * service left unapplied. Null answers: not sent, the service has no batch endpoint.
     */
    private List<Timed<StepResult>> batch(List<StepBatchRequest.Item> items) {
        long start = System.nanoTime();
        List<Timed<StepResult>> answers = new ArrayList<>(items.size());
        items.forEach(item -> answers.add(null));
        List<Integer> pending = IntStream.range(0, items.size()).boxed().toList();
        while (!pending.isEmpty()) {
            List<StepOutcome> outcomes;
            try {
                outcomes = env.stepAll(pending.stream().map(items::get).toList());
            } catch (RuntimeException e) {
                if (routeMissing(e)) {
                    if (singleSteps.compareAndSet(false, true)) {
                        LOG.warn("env-service has no POST /v1/steps ({}): stepping each session with its own "
                                + "request from now on", e.getMessage());
                    }
                    return answers;
                }
                long micros = Timed.micros(start);
                pending.forEach(i -> answers.set(i, new Timed<>(null, e, micros)));
                return answers;
            }
            long micros = Timed.micros(start);
            List<Integer> unapplied = new ArrayList<>();
            RuntimeException full = null;
            for (int k = 0; k < pending.size(); k++) {
                StepOutcome outcome = outcomes.get(k);
                int i = pending.get(k);
                if (outcome.succeeded()) {
                    answers.set(i, new Timed<>(outcome.result(), null, micros));
                } else if (notApplied(outcome.failure())) {
                    unapplied.add(i);
                    full = outcome.failure();
                } else {
                    answers.set(i, new Timed<>(null, outcome.failure(), micros));
                }
            }
            if (!unapplied.isEmpty() && unapplied.size() == pending.size()) {
                EnvInfrastructureException stuck = new EnvInfrastructureException("env-service applied none of "
                        + unapplied.size() + " steps sent again after " + BATCH_ANSWER_FULL + ": " + full.getMessage(),
                        full);
                unapplied.forEach(i -> answers.set(i, new Timed<>(null, stuck, micros)));
                return answers;
            }
            pending = unapplied;
        }
        return answers;
    }

    /** One request per item, concurrently on the executor. */
    private List<Timed<StepResult>> single(List<StepBatchRequest.Item> items) {
        List<CompletableFuture<Timed<StepResult>>> results = new ArrayList<>(items.size());
        for (StepBatchRequest.Item item : items) {
            results.add(CompletableFuture.supplyAsync(() -> Timed.of(() -> env.step(item.session(), item.action())),
                    envCalls));
        }
        return results.stream().map(CompletableFuture::join).toList();
    }

    /** Whether a batch request failed because the service has no such route (an env-service before it). */
    static boolean routeMissing(RuntimeException e) {
        return e instanceof EnvRequestException refused && !(e instanceof EnvSessionLostException)
                && (refused.status() == 404 || refused.status() == 405);
    }

    /** Whether a batch item was left unapplied because the batch's answer was full: send it again. */
    static boolean notApplied(RuntimeException failure) {
        return failure instanceof EnvUnavailableException unavailable && BATCH_ANSWER_FULL.equals(unavailable.kind());
    }
}
