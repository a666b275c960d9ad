package io.rollout.actor.play;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.rollout.actor.TestWorld;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.sampling.GenerationRequest;
import io.rollout.policy.sampling.SamplingParams;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SharedBatcherTest {

    private static final SamplingParams PARAMS = SamplingParams.defaults().withMaxNewTokens(6).withSeed(11);

    private static Policy policy;
    private static LoraAdapter v1;
    private static LoraAdapter v2;

    private final ExecutorService callers = Executors.newCachedThreadPool();
    private final List<Call> calls = Collections.synchronizedList(new ArrayList<>());
    private SharedBatcher batcher;

    /** One merged call as the generator saw it. */
    record Call(List<GenerationRequest> requests, LoraAdapter adapter) {}

    @BeforeAll
    static void load() {
        policy = TestWorld.policy();
        v1 = policy.newAdapter(LoraSpec.defaults("tiny"), 1);
        v2 = policy.newAdapter(LoraSpec.defaults("tiny"), 2);
    }

    @AfterEach
    void stop() {
        if (batcher != null) {
            batcher.close();
        }
        callers.shutdownNow();
    }

    @Test
    void shouldGiveEachCallerWhatItGetsAloneFromOneMergedCall() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        batcher = batcher(counting(gated(release, policy::generate)), 64);
        Future<List<Completion>> blocker = call(prompts(1, 3), PARAMS, v1);
        awaitTrue(() -> calls.size() == 1);
        List<List<int[]>> prompts = List.of(prompts(2, 4), prompts(3, 1), prompts(4, 2));
        List<Future<List<Completion>>> answers = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            answers.add(call(prompts.get(i), PARAMS.withSeed(100 + i), v1));
        }
        awaitTrue(() -> batcher.queued() == 3);
        release.countDown();
        blocker.get(60, TimeUnit.SECONDS);
        for (int i = 0; i < prompts.size(); i++) {
            List<Completion> merged = answers.get(i).get(60, TimeUnit.SECONDS);
            List<Completion> alone = policy.generate(prompts.get(i), PARAMS.withSeed(100 + i), v1);
            assertThat(merged).hasSize(alone.size());
            for (int b = 0; b < alone.size(); b++) {
                assertThat(merged.get(b).tokens()).containsExactly(alone.get(b).tokens());
                for (int t = 0; t < alone.get(b).logProbs().length; t++) {
                    assertThat(merged.get(b).logProbs()[t]).isCloseTo(alone.get(b).logProbs()[t], within(1e-4f));
                }
            }
        }
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1).requests()).hasSize(3);
    }

    @Test
    void shouldNeverMergeRequestsForDifferentAdaptersAndServeTheOldestFirst() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        batcher = batcher(counting(gated(release, fake())), 64);
        Future<List<Completion>> blocker = call(prompts(1, 2), PARAMS, v1);
        awaitTrue(() -> calls.size() == 1);
        Future<List<Completion>> a = call(prompts(2, 2), PARAMS, v1);
        awaitTrue(() -> batcher.queued() == 1);
        Future<List<Completion>> b = call(prompts(3, 2), PARAMS, v2); // a swap: the next rounds use v2
        awaitTrue(() -> batcher.queued() == 2);
        Future<List<Completion>> c = call(prompts(4, 2), PARAMS, v1);
        Future<List<Completion>> d = call(prompts(5, 2), PARAMS, v2);
        Future<List<Completion>> base = call(prompts(6, 2), PARAMS, null);
        awaitTrue(() -> batcher.queued() == 5);
        release.countDown();
        for (Future<List<Completion>> f : List.of(blocker, a, b, c, d, base)) {
            assertThat(f.get(10, TimeUnit.SECONDS)).hasSize(2);
        }
        assertThat(calls).extracting(Call::adapter).containsExactly(v1, v1, v2, null);
        assertThat(calls).extracting(call -> call.requests().size()).containsExactly(1, 2, 2, 1);
    }

    @Test
    void shouldBoundTheSequencesOfOneCall() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        batcher = batcher(counting(gated(release, fake())), 5);
        Future<List<Completion>> blocker = call(prompts(1, 1), PARAMS, null);
        awaitTrue(() -> calls.size() == 1);
        List<Future<List<Completion>>> answers = new ArrayList<>();
        for (int n : new int[] {3, 3, 2, 7}) {
            int queued = answers.size();
            answers.add(call(prompts(n, n), PARAMS, null));
            awaitTrue(() -> batcher.queued() == queued + 1);
        }
        release.countDown();
        blocker.get(10, TimeUnit.SECONDS);
        for (Future<List<Completion>> f : answers) {
            f.get(10, TimeUnit.SECONDS);
        }
        // 3 + 2 fit; the second 3 waits and goes first next time; 7 exceeds the bound and runs alone
        assertThat(calls).extracting(call -> call.requests().stream().mapToInt(r -> r.prompts().size()).sum())
                .containsExactly(1, 5, 3, 7);
    }

    @Test
    void shouldDeliverAFailureToEveryCallerOfTheFailedCallOnly() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        SharedBatcher.MergedGenerator failing = (requests, adapter) -> {
            if (adapter == v2) {
                throw new IllegalStateException("boom");
            }
            return fake().generate(requests, adapter);
        };
        batcher = batcher(counting(gated(release, failing)), 64);
        Future<List<Completion>> blocker = call(prompts(1, 1), PARAMS, v1);
        awaitTrue(() -> calls.size() == 1);
        Future<List<Completion>> x = call(prompts(2, 1), PARAMS, v2);
        Future<List<Completion>> y = call(prompts(3, 1), PARAMS, v2);
        awaitTrue(() -> batcher.queued() == 2);
        Future<List<Completion>> ok = call(prompts(4, 1), PARAMS, v1);
        awaitTrue(() -> batcher.queued() == 3);
        release.countDown();
        assertThat(blocker.get(10, TimeUnit.SECONDS)).hasSize(1);
        for (Future<List<Completion>> f : List.of(x, y)) {
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasRootCauseMessage("boom");
        }
        assertThat(ok.get(10, TimeUnit.SECONDS)).hasSize(1);
        assertThat(calls).extracting(Call::adapter).containsExactly(v1, v2, v1); // x and y were queued first
    }

    @Test
    void shouldFailWaitingCallersPromptlyOnClose() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        batcher = batcher(counting(gated(release, fake())), 64);
        Future<List<Completion>> running = call(prompts(1, 1), PARAMS, null);
        awaitTrue(() -> calls.size() == 1);
        Future<List<Completion>> queued = call(prompts(2, 1), PARAMS, null);
        awaitTrue(() -> batcher.queued() == 1);
        batcher.close();
        for (Future<List<Completion>> f : List.of(running, queued)) {
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .hasRootCauseMessage("the generation batcher is closed");
        }
        assertThatThrownBy(() -> batcher.generate(prompts(1, 1), PARAMS, null))
                .isInstanceOf(IllegalStateException.class);
        release.countDown();
        assertThat(batcher.awaitStopped(Duration.ofSeconds(10))).isTrue();
        assertThat(calls).hasSize(1);
    }

    @Test
    void shouldWithdrawTheRequestOfAnInterruptedCaller() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        batcher = batcher(counting(gated(release, fake())), 64);
        Future<List<Completion>> running = call(prompts(1, 1), PARAMS, null);
        awaitTrue(() -> calls.size() == 1);
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        Thread waiter = new Thread(() -> {
            try {
                batcher.generate(prompts(2, 1), PARAMS, null);
                thrown.complete(null);
            } catch (Throwable e) {
                thrown.complete(Thread.currentThread().isInterrupted() ? e : new AssertionError("flag cleared", e));
            }
        });
        waiter.start();
        awaitTrue(() -> batcher.queued() == 1);
        waiter.interrupt();
        assertThat(thrown.get(10, TimeUnit.SECONDS)).isInstanceOf(CancellationException.class);
        assertThat(batcher.queued()).isZero();
        release.countDown();
        running.get(10, TimeUnit.SECONDS);
        assertThat(calls).hasSize(1);
    }

    @Test
    void shouldFailLaterCallersInsteadOfHangingWhenTheGenerationThreadDies() throws Exception {
        batcher = new SharedBatcher(counting(fake()), SharedBatcher.Settings.defaults(), (requests, sequences, nanos) -> {
            throw new IllegalStateException("metrics broke");
        }, "test-generate");
        assertThat(call(prompts(1, 1), PARAMS, null).get(10, TimeUnit.SECONDS)).hasSize(1);
        assertThat(batcher.awaitStopped(Duration.ofSeconds(10))).isTrue();
        assertThatThrownBy(() -> batcher.generate(prompts(2, 1), PARAMS, null))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("metrics broke");
    }

    private SharedBatcher batcher(SharedBatcher.MergedGenerator generator, int maxSequences) {
        return new SharedBatcher(generator, new SharedBatcher.Settings(maxSequences, Duration.ZERO),
                SharedBatcher.Listener.NONE, "test-generate");
    }

    private Future<List<Completion>> call(List<int[]> prompts, SamplingParams params, LoraAdapter adapter) {
        return callers.submit(() -> batcher.generate(prompts, params, adapter));
    }

    /** Records each call as it starts. */
    private SharedBatcher.MergedGenerator counting(SharedBatcher.MergedGenerator g) {
        return (requests, adapter) -> {
            calls.add(new Call(requests, adapter));
            return g.generate(requests, adapter);
        };
    }

    /** The first call waits for {@code release}, so the next callers queue up behind it. */
    private static SharedBatcher.MergedGenerator gated(CountDownLatch release, SharedBatcher.MergedGenerator g) {
        return (requests, adapter) -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return g.generate(requests, adapter);
        };
    }

    /** One one-token completion per prompt, without a model. */
    private static SharedBatcher.MergedGenerator fake() {
        return (requests, adapter) -> requests.stream().map(r -> r.prompts().stream()
                .map(p -> new Completion(new int[] {p[0]}, new float[] {0f}, "x", Completion.FinishReason.LENGTH))
                .toList()).toList();
    }

    /** {@code n} prompts of a few tokens, distinct per {@code salt}. */
    private static List<int[]> prompts(int salt, int n) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new int[] {1 + (salt * 7 + i) % 20, 2 + i % 5, 3 + salt % 9});
        }
        return out;
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 30 s");
            }
            Thread.sleep(2);
        }
    }
}
