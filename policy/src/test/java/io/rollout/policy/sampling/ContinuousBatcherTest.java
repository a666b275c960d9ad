package io.rollout.policy.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.rollout.policy.Policy;
import io.rollout.policy.TinyPolicies;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.model.LinearAdapter;
import io.rollout.policy.tiny.TinyModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ContinuousBatcherTest {

    static Policy policy;
    static Generator alone;
    static int vocab;

    @BeforeAll
    static void load() {
        policy = Policy.load(TinyPolicies.untied());
        alone = policy.generator(); // the same stop tokens as the batcher
        vocab = TinyModels.vocabulary(TinyPolicies.WORDS).size() - TinyModels.SPECIAL_TOKENS.size();
    }

    @AfterAll
    static void close() {
        policy.close();
    }

    /** A request: prompts of several lengths, its own seed, length and stop tokens. */
    record Call(List<int[]> prompts, SamplingParams params, LinearAdapter adapter) {

        static Call random(Random r, int sequences, int maxNew, long seed, List<Integer> stops, LinearAdapter a) {
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < sequences; i++) {
                prompts.add(r.ints(2 + r.nextInt(20), 0, vocab).toArray());
            }
            return new Call(prompts, SamplingParams.defaults().withMaxNewTokens(maxNew).withSeed(seed)
                    .withStopTokenIds(stops), a);
        }

        CompletableFuture<List<Completion>> submit(ContinuousBatcher b) {
            return b.submit(prompts, params, adapter);
        }

        void assertSameAsAlone(List<Completion> got) {
            List<Completion> expected = alone.generate(prompts, params, adapter);
            assertThat(got).hasSameSizeAs(expected);
            for (int i = 0; i < expected.size(); i++) {
                assertThat(got.get(i).tokens()).as("sequence %d", i).containsExactly(expected.get(i).tokens());
                assertThat(got.get(i).finish()).isEqualTo(expected.get(i).finish());
                for (int t = 0; t < expected.get(i).logProbs().length; t++) {
                    assertThat(got.get(i).logProbs()[t]).isCloseTo(expected.get(i).logProbs()[t], within(1e-4f));
                }
            }
        }
    }

    /** Counts decode steps and lets a test wait until the batch is running. */
    static final class Steps implements ContinuousBatcher.Listener {
        final AtomicInteger decoded = new AtomicInteger();
        final AtomicInteger maxRows = new AtomicInteger();
        final List<Integer> admitted = Collections.synchronizedList(new ArrayList<>());
        volatile CountDownLatch running = new CountDownLatch(1);
        /** When set, the generation thread waits on it after each step until it is opened. */
        volatile CountDownLatch gate;

        @Override
        public void decoded(int sequences, int rows, long nanos) {
            decoded.incrementAndGet();
            maxRows.accumulateAndGet(rows, Math::max);
            running.countDown();
            CountDownLatch g = gate;
            if (g != null) {
                try {
                    g.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /** Holds the generation thread after its next step until {@link #open()}. */
        Steps closed() {
            gate = new CountDownLatch(1);
            return this;
        }

        void open() {
            gate.countDown();
        }

        @Override
        public void admitted(int requests, int sequences, long nanos) {
            admitted.add(sequences);
        }
    }

    @Test
    void shouldGiveEveryRequestWhatItSamplesAloneWhileOthersJoinAndLeaveTheBatch() throws Exception {
        Random r = new Random(17);
        // Stop tokens that a random tiny model draws now and then, so sequences end at different steps.
        List<Integer> stops = List.of(3, 5);
        Steps steps = new Steps();
        try (LoraAdapter adapter = GeneratorTest.trainedLookingAdapter(policy);
                ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(), steps, "test")) {
            Call first = Call.random(r, 3, 48, 100, List.of(), adapter);
            CompletableFuture<List<Completion>> firstResult = first.submit(batcher);
            assertThat(steps.running.await(30, TimeUnit.SECONDS)).isTrue();
            // These join a batch that is already decoding, some with longer prompts than its width.
            List<Call> later = new ArrayList<>();
            List<CompletableFuture<List<Completion>>> results = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Call c = Call.random(r, 1 + r.nextInt(8), 4 + r.nextInt(30), 200 + i, stops, adapter);
                later.add(c);
                results.add(c.submit(batcher));
                Thread.sleep(r.nextInt(5));
            }
            first.assertSameAsAlone(firstResult.get(60, TimeUnit.SECONDS));
            for (int i = 0; i < later.size(); i++) {
                later.get(i).assertSameAsAlone(results.get(i).get(60, TimeUnit.SECONDS));
            }
            assertThat(steps.admitted.size()).as("admissions").isGreaterThan(1);
            assertThat(steps.maxRows.get()).as("rows decoded together at most").isGreaterThan(3);
        }
    }

    /** Longest and shortest completion of {@code call} generated alone: its steps in any batch. */
    static int[] lengths(Call call) {
        List<Completion> alone = ContinuousBatcherTest.alone.generate(call.prompts(), call.params(), call.adapter());
        return new int[] {alone.stream().mapToInt(c -> c.tokens().length).max().orElseThrow(),
            alone.stream().mapToInt(c -> c.tokens().length).min().orElseThrow()};
    }

    /**
     * Submits {@code call} and adds {@code name} to {@code order} when it is answered: on the
     * generation thread, so {@code order} is the order of the steps that answered them.
     */
    static CompletableFuture<List<Completion>> submit(ContinuousBatcher batcher, Call call, String name,
            List<String> order) {
        CompletableFuture<List<Completion>> result = call.submit(batcher);
        result.thenRun(() -> order.add(name));
        return result;
    }

    @Test
    void shouldStartASwappedInVersionBesideTheDrainingOneWithoutMixingThem() throws Exception {
        Random r = new Random(23);
        Steps steps = new Steps().closed();
        try (LoraAdapter v1 = GeneratorTest.trainedLookingAdapter(policy, 9);
                LoraAdapter v2 = GeneratorTest.trainedLookingAdapter(policy, 10); // other logits: a mix would show
                ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(), steps, "test")) {
            Call a = Call.random(r, 6, 400, 1, List.of(), v1);
            Call b = Call.random(r, 2, 6, 2, List.of(), v2);
            Call c = Call.random(r, 2, 6, 3, List.of(), v1);
            // Seeded data, so these hold on every run: a decodes long after b and c could have
            // ended, and all of a's sequences are still sampling when c joins.
            assertThat(lengths(a)[0]).as("a's longest sequence").isGreaterThan(6 + 3);
            assertThat(lengths(a)[1]).as("a's shortest sequence").isGreaterThan(2);
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<List<Completion>> ra = submit(batcher, a, "a", order);
                        assertThat(steps.running.await(30, TimeUnit.SECONDS)).isTrue();
            // The thread waits after a's first step; b and c are queued when it goes on.
            CompletableFuture<List<Completion>> rb = submit(batcher, b, "b", order);
            CompletableFuture<List<Completion>> rc = submit(batcher, c, "c", order);
            steps.open();
            b.assertSameAsAlone(rb.get(60, TimeUnit.SECONDS));
            c.assertSameAsAlone(rc.get(60, TimeUnit.SECONDS));
            a.assertSameAsAlone(ra.get(60, TimeUnit.SECONDS));
            // b's version started beside a's batch instead of waiting for a to drain.
            assertThat(order).containsExactlyInAnyOrder("a", "b", "c").endsWith("a");
            assertThat(steps.admitted).containsExactlyInAnyOrder(6, 2, 2);
            // A step decodes one batch: a's with c joined (6 + 2 rows) or b's (2), never all ten.
            assertThat(steps.maxRows.get()).isEqualTo(8);
        }
    }

    @Test
    void shouldHoldAThirdVersionBackUntilABatchHasDrainedAndLetNothingOvertakeIt() throws Exception {
        Random r = new Random(29);
        Steps steps = new Steps().closed();
        try (LoraAdapter v1 = GeneratorTest.trainedLookingAdapter(policy, 9);
                LoraAdapter v2 = GeneratorTest.trainedLookingAdapter(policy, 10);
                LoraAdapter v3 = GeneratorTest.trainedLookingAdapter(policy, 11);
                ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(), steps, "test")) {
            Call a = Call.random(r, 8, 400, 1, List.of(), v1);
            Call b = Call.random(r, 2, 12, 2, List.of(), v2);
            Call d = Call.random(r, 2, 6, 3, List.of(), v3);
            Call e = Call.random(r, 2, 6, 4, List.of(), v2); // b's version, but queued behind d
            // Seeded: a outlasts b, d and e one after the other.
            assertThat(lengths(a)[0]).as("a's longest sequence").isGreaterThan(12 + 6 + 6 + 4);
            List<String> order = Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<List<Completion>> ra = submit(batcher, a, "a", order);
                        assertThat(steps.running.await(30, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<List<Completion>> rb = submit(batcher, b, "b", order);
            CompletableFuture<List<Completion>> rd = submit(batcher, d, "d", order);
            CompletableFuture<List<Completion>> re = submit(batcher, e, "e", order);
            steps.open();
            b.assertSameAsAlone(rb.get(60, TimeUnit.SECONDS));
            d.assertSameAsAlone(rd.get(60, TimeUnit.SECONDS));
            e.assertSameAsAlone(re.get(60, TimeUnit.SECONDS));
            a.assertSameAsAlone(ra.get(60, TimeUnit.SECONDS));
            // b started beside a; d (a third version) waited until b's batch drained; e, of b's
            // version but queued behind d, did not join b's batch ahead of d.
            assertThat(order).containsExactly("b", "d", "e", "a");
        }
    }

    @Test
    void shouldRefuseBadInputAtSubmitAndKeepServing() throws Exception {
        try (ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(),
                ContinuousBatcher.Listener.NONE, "test")) {
            SamplingParams params = SamplingParams.defaults().withMaxNewTokens(4);
            assertThatThrownBy(() -> batcher.submit(List.of(new int[0]), params, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty prompt");
            assertThatThrownBy(() -> batcher.submit(List.of(new int[] {1, 100_000}), params, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> batcher.submit(List.of(new int[] {1}),
                    params.withMaxNewTokens(policy.model().config().maxPositions()), null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positions");
            assertThat(batcher.submit(List.of(), params, null).get()).isEmpty();
            Call ok = new Call(List.of(new int[] {1, 2, 3}), params, null);
            ok.assertSameAsAlone(batcher.generate(ok.prompts(), ok.params(), null));
        }
    }

    @Test
    void shouldRunARequestLargerThanTheBoundAloneAndCapTheBatch() throws Exception {
        Random r = new Random(31);
        Steps steps = new Steps();
        try (ContinuousBatcher batcher = policy.newBatcher(new ContinuousBatcher.Settings(4), steps, "test")) {
            Call big = Call.random(r, 6, 12, 1, List.of(), null);
            Call small = Call.random(r, 3, 12, 2, List.of(), null);
            Call other = Call.random(r, 2, 12, 3, List.of(), null);
            CompletableFuture<List<Completion>> rb = big.submit(batcher);
            CompletableFuture<List<Completion>> rs = small.submit(batcher);
            CompletableFuture<List<Completion>> ro = other.submit(batcher);
            big.assertSameAsAlone(rb.get(60, TimeUnit.SECONDS));
            small.assertSameAsAlone(rs.get(60, TimeUnit.SECONDS));
            other.assertSameAsAlone(ro.get(60, TimeUnit.SECONDS));
            assertThat(steps.maxRows.get()).isEqualTo(6);
        }
    }

    @Test
    void shouldFailWaitingAndRunningRequestsOnClose() throws Exception {
        Steps steps = new Steps();
        ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(), steps, "test");
        Call longOne = new Call(List.of(new int[] {1, 2}), SamplingParams.defaults().withMaxNewTokens(200), null);
        CompletableFuture<List<Completion>> running = longOne.submit(batcher);
        assertThat(steps.running.await(30, TimeUnit.SECONDS)).isTrue();
        batcher.close();
        assertThatThrownBy(() -> running.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
        assertThat(batcher.awaitStopped(java.time.Duration.ofSeconds(10))).isTrue();
        assertThatThrownBy(() -> longOne.submit(batcher)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void shouldLetAnInterruptedCallerLeaveTheBatchWithoutStoppingOthers() throws Exception {
        Steps steps = new Steps();
        try (ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(), steps, "test")) {
            Call quitter = new Call(List.of(new int[] {4, 5, 6}), SamplingParams.defaults().withMaxNewTokens(200)
                    .withSeed(8), null);
            Call stays = new Call(List.of(new int[] {7, 8}), SamplingParams.defaults().withMaxNewTokens(30)
                    .withSeed(9), null);
            Thread caller = new Thread(() -> {
                try {
                    batcher.generate(quitter.prompts(), quitter.params(), null);
                } catch (java.util.concurrent.CancellationException expected) {
                    // left the batch
                }
            });
            caller.start();
            assertThat(steps.running.await(30, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<List<Completion>> result = stays.submit(batcher);
            caller.interrupt();
            caller.join(10_000);
            stays.assertSameAsAlone(result.get(60, TimeUnit.SECONDS));
        }
    }

    /**
     * A caller that gives up (interrupted, or failed by close) returns only once the step in
     * progress has ended, so the adapter it leased is not freed under a running step.
     */
    @Test
    void shouldReturnAnInterruptedCallerOnlyAfterTheStepInProgress() throws Exception {
        CountDownLatch inStep = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ContinuousBatcher.Listener blocking = new ContinuousBatcher.Listener() {
            @Override
            public void decoded(int sequences, int rows, long nanos) {
                inStep.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(), blocking, "test")) {
            CountDownLatch returned = new CountDownLatch(1);
            Thread caller = new Thread(() -> {
                try {
                    batcher.generate(List.of(new int[] {1, 2}), SamplingParams.defaults().withMaxNewTokens(50), null);
                } catch (java.util.concurrent.CancellationException expected) {
                    returned.countDown();
                }
            });
            caller.start();
            assertThat(inStep.await(30, TimeUnit.SECONDS)).isTrue();
            caller.interrupt();
            assertThat(returned.await(300, TimeUnit.MILLISECONDS)).as("returned during the step").isFalse();
            release.countDown();
            assertThat(returned.await(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * Thousands of admissions, decode steps and compactions must not grow the live engine
     * arrays or the resident memory.
     */
    @Test
    void shouldNotGrowNativeMemoryOverManyRequests() throws Exception {
        Random r = new Random(41);
        int modelArrays = policy.model().manager().getManagedArrays().size();
        try (ContinuousBatcher batcher = policy.newBatcher(ContinuousBatcher.Settings.defaults(),
                ContinuousBatcher.Listener.NONE, "test")) {
            long rssAfterWarmup = 0;
            int rounds = 400;
            for (int round = 0; round < rounds; round++) {
                List<CompletableFuture<List<Completion>>> results = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    results.add(Call.random(r, 1 + r.nextInt(4), 1 + r.nextInt(12), round * 10L + i, List.of(3, 5),
                            null).submit(batcher));
                }
                for (CompletableFuture<List<Completion>> f : results) {
                    f.get(60, TimeUnit.SECONDS);
                }
                if (round == 50) {
                    rssAfterWarmup = TinyPolicies.residentBytes();
                }
            }
            long growth = TinyPolicies.residentBytes() - rssAfterWarmup;
            assertThat(growth).as("resident memory growth over %d rounds", rounds - 50).isLessThan(48L << 20);
            // The thread frees a batch just after answering its last request and ends after
            // close: count the arrays once it has ended, not while it may still be freeing.
            batcher.close();
            assertThat(batcher.awaitStopped(Duration.ofSeconds(10))).isTrue();
        }
        assertThat(policy.model().manager().getManagedArrays()).hasSize(modelArrays);
    }
}
