package io.rollout.actor.play;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.actor.HugeObservationFactory;
import io.rollout.actor.TestWorld;
import io.rollout.actor.play.EnvProxy.StepsRoute;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.StepResult;
import io.rollout.env.api.StepBatchRequest;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import io.rollout.env.client.EnvSessionLostException;
import io.rollout.env.client.EnvUnavailableException;
import io.rollout.env.server.EnvServer;
import io.rollout.policy.Policy;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A round's env steps as one {@code POST /v1/steps} call: the same steps as one request per
 * session, failures of one item as before, unapplied items sent again, and the fallback to one
 * request per session for an env-service without the endpoint. Real tiny model, real
 * env-service on loopback, with a counting {@link EnvProxy} in front.
 */
class BatchedSteppingTest {

    private static final String BATCH = "POST /v1/steps";
    private static final String SINGLE = "POST /v1/sessions/{id}/step";

    private static Policy policy;
    private static EnvServer server;
    private static ExecutorService envCalls;

    private final PlayerConfig config = PlayerConfig.defaults("actor-test", "compact").withSeed(42L);
    /** Think-action answers never parse with the tiny tokenizer: every episode plays to its step bound. */
    private final PlayerConfig think = PlayerConfig.defaults("actor-test", "think-action").withMaxNewTokens(4)
            .withSeed(3L);

    @BeforeAll
    static void start() {
        policy = TestWorld.policy();
        server = TestWorld.startServer(256);
        envCalls = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void stop() {
        server.close();
        envCalls.shutdownNow();
    }

    private static EnvClient client(String url) {
        return EnvClient.create(url, Duration.ofSeconds(2), Duration.ofSeconds(5));
    }

    /** The steps as text without their timings, which differ from run to run. */
    private static List<String> untimed(List<Step> steps) {
        return steps.stream().map(s -> s.toString().replaceFirst("\"timings\": \\{[^}]*}", "")).toList();
    }

    private static Map<Integer, List<Step>> byEpisode(List<Step> steps) {
        return steps.stream().collect(Collectors.groupingBy(Step::getEpisode));
    }

    @Test
    void shouldPlayTheSameStepsWithOneBatchPerRoundAsWithOneRequestPerSession() throws IOException {
        Task task = TestWorld.sokobanTask("g-same", 11, 6, 4);
        long[] seeds = {1, 2, 3, 4, 5, 6, 7};
        List<Step> batched = new ArrayList<>();
        List<Step> single = new ArrayList<>();
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.FORWARD); EnvClient env = client(proxy.url())) {
            GroupPlayer player = GroupPlayer.create(policy, env, config, envCalls);
            batched.addAll(player.play(task, AdapterRef.base()));
            player.playEach(task, seeds, AdapterRef.base(), batched::add);

            assertThat(proxy.requests(SINGLE)).isZero();
            assertThat(proxy.requests(BATCH)).as("one batch per round of each game")
                    .isEqualTo(rounds(batched, "g-same", 6) + rounds(batched, "g-same", 7));
        }
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.FORWARD); EnvClient env = client(proxy.url())) {
            GroupPlayer player = GroupPlayer.create(policy, env, config, envCalls).singleStepping();
            single.addAll(player.play(task, AdapterRef.base()));
            player.playEach(task, seeds, AdapterRef.base(), single::add);

            assertThat(proxy.requests(BATCH)).isZero();
            assertThat(proxy.requests(SINGLE)).isEqualTo(single.size());
        }

        assertThat(untimed(batched)).isEqualTo(untimed(single)).noneMatch(text -> text.contains("createdAtMs"));
        assertThat(batched).anyMatch(Step::getValid).anyMatch(s -> s.getT() > 0);
        assertThat(batched).allSatisfy(s -> assertThat(s.getTimings().getEnvMicros()).isPositive());
    }

    @Test
    void shouldEndOnlyTheEpisodeWhoseSessionTheServerLostOrRaiseAnOutage() throws IOException {
        Task task = TestWorld.sokobanTask("g-lost", 4, 3, 3);
        List<Step> steps = new ArrayList<>();
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.FORWARD); EnvClient env = client(proxy.url());
                EnvClient direct = client(server.url())) {
            GroupPlayer player = GroupPlayer.create(policy, env, think, envCalls);
            player.play(task, AdapterRef.base(), step -> {
                steps.add(step);
                if (steps.size() == 3) {
                    direct.closeSession(proxy.sessions().get(1)); // env-service forgets one session
                }
            });

            Map<Integer, List<Step>> episodes = byEpisode(steps);
            List<List<Step>> lost = episodes.values().stream()
                    .filter(e -> e.get(e.size() - 1).getTerminalReason() == TerminalReason.INFRA_ERROR).toList();
            assertThat(lost).hasSize(1);
            assertThat(lost.get(0)).hasSize(2);
            assertThat(lost.get(0).get(1).getDone()).isTrue();
            assertThat(lost.get(0).get(1).getReward()).isZero();
            assertThat(episodes.values()).filteredOn(e -> e != lost.get(0)).hasSize(2).allSatisfy(e -> {
                assertThat(e).hasSize(3);
                assertThat(e.get(2).getTerminalReason()).isEqualTo(TerminalReason.TRUNCATED);
            });
            assertThat(proxy.requests(SINGLE)).isZero();

            List<Step> raised = new ArrayList<>();
            int before = proxy.sessions().size();
            assertThatThrownBy(() -> player.raisingEnvOutages().play(TestWorld.sokobanTask("g-lost-2", 4, 3, 3),
                    AdapterRef.base(), step -> {
                        raised.add(step);
                        if (raised.size() == 3) {
                            direct.closeSession(proxy.sessions().get(before + 2));
                        }
                    })).isInstanceOf(EnvOutageException.class).hasMessageContaining("step")
                    .hasCauseInstanceOf(EnvSessionLostException.class);
            assertThat(raised).as("nothing of the failed round is emitted").hasSize(3)
                    .allSatisfy(s -> assertThat(s.getT()).isZero());
        }
    }

    @Test
    void shouldSendAgainTheStepsABatchLeftUnappliedBecauseItsAnswerWasFull() throws IOException {
        // Answers of about 3 KiB under a 4 KiB observation bound: a batch answer (12 KiB) holds 3 of them.
        EnvServer small = TestWorld.startServer(new EnvServer.Options("127.0.0.1", 0, 1 << 16, Duration.ofHours(1),
                null, false, 4096), 16, new HugeObservationFactory(3000));
        Task task = Task.newBuilder(TestWorld.sokobanTask("g-full", 1, 6, 2)).setEnv(HugeObservationFactory.NAME)
                .build();
        try (EnvProxy proxy = new EnvProxy(small.url(), StepsRoute.FORWARD); EnvClient env = client(proxy.url())) {
            List<Step> steps = GroupPlayer.create(policy, env, think, envCalls).raisingEnvOutages()
                    .play(task, AdapterRef.base());

            assertThat(steps).hasSize(12).noneMatch(s -> s.getTerminalReason() == TerminalReason.INFRA_ERROR);
            assertThat(steps).filteredOn(s -> s.getT() == 1).hasSize(6)
                    .allSatisfy(s -> assertThat(s.getAnchor()).hasSize(3000));
            assertThat(proxy.requests(BATCH)).as("3 items, then the 3 left, in each of 2 rounds").isEqualTo(4);
            assertThat(proxy.requests(SINGLE)).isZero();
        } finally {
            small.close();
        }
    }

    @Test
    void shouldEndTheEpisodesAsInfraErrorsWhenSendingAgainAppliesNothing() throws IOException {
        Task task = TestWorld.sokobanTask("g-stuck", 2, 3, 3);
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.ALWAYS_FULL); EnvClient env = client(proxy.url())) {
            List<Step> steps = GroupPlayer.create(policy, env, think, envCalls).raisingEnvOutages()
                    .play(task, AdapterRef.base());

            assertThat(steps).hasSize(3).allSatisfy(s -> {
                assertThat(s.getT()).isZero();
                assertThat(s.getTerminalReason()).isEqualTo(TerminalReason.INFRA_ERROR);
            });
            assertThat(proxy.requests(BATCH)).as("a call that applies none is not sent again").isEqualTo(1);
        }
    }

    @Test
    void shouldStepEachSessionAloneFromThenOnWhenTheServerHasNoBatchRoute() throws IOException {
        Task task = TestWorld.sokobanTask("g-old", 5, 4, 4);
        List<Step> expected;
        try (EnvClient env = client(server.url())) {
            expected = GroupPlayer.create(policy, env, config, envCalls).play(task, AdapterRef.base());
        }
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.MISSING); EnvClient env = client(proxy.url())) {
            GroupPlayer player = GroupPlayer.create(policy, env, config, envCalls);
            List<Step> first = player.raisingEnvOutages().play(task, AdapterRef.base());
            List<Step> second = player.play(task, AdapterRef.base());

            assertThat(untimed(first)).isEqualTo(untimed(expected));
            assertThat(untimed(second)).isEqualTo(untimed(expected));
            assertThat(proxy.requests(BATCH)).as("asked once, remembered by the player and its copies").isEqualTo(1);
            assertThat(proxy.requests(SINGLE)).isEqualTo(2 * expected.size());
        }
    }

    @Test
    void shouldStepMoreSessionsThanOneBatchTakesInSeveralBatches() throws IOException {
        int n = StepBatchRequest.MAX_STEPS + 44;
        EnvServer big = TestWorld.startServer(2 * n);
        try (EnvProxy proxy = new EnvProxy(big.url(), StepsRoute.FORWARD); EnvClient env = client(big.url());
                EnvClient counted = client(proxy.url())) {
            List<StepBatchRequest.Item> items = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                items.add(new StepBatchRequest.Item(env.createSession("sokoban", i, Map.of()).session(),
                        i % 2 == 0 ? "up" : "left"));
            }
            List<Timed<StepResult>> batched = new RoundStepper(counted, envCalls, false).step(items);

            assertThat(proxy.requests(BATCH)).isEqualTo(2);
            assertThat(batched).hasSize(n).allSatisfy(r -> assertThat(r.error()).isNull());
            for (int i = 0; i < n; i++) {
                // The same level and move in a fresh session gives the same answer: each item went to its session.
                String session = env.createSession("sokoban", i, Map.of()).session();
                assertThat(batched.get(i).value()).isEqualTo(env.step(session, items.get(i).action()));
            }
        } finally {
            big.close();
        }
    }

    @Test
    void shouldTellAMissingRouteAndAnUnappliedItemFromOtherFailures() {
        assertThat(RoundStepper.routeMissing(new EnvRequestException(404, "not_found", "no route"))).isTrue();
        assertThat(RoundStepper.routeMissing(new EnvRequestException(405, "method_not_allowed", "GET only")))
                .isTrue();
        assertThat(RoundStepper.routeMissing(new EnvSessionLostException("unknown session x"))).isFalse();
        assertThat(RoundStepper.routeMissing(new EnvRequestException(400, "batch_too_large", "257"))).isFalse();
        assertThat(RoundStepper.notApplied(new EnvUnavailableException("env-service POST http://h/v1/steps for "
                + "session x answered 503 batch_answer_full: not applied", "batch_answer_full"))).isTrue();
        assertThat(RoundStepper.notApplied(new EnvUnavailableException("env-service POST http://h/v1/steps "
                + "answered 503 overloaded: busy", "overloaded"))).isFalse();
        assertThat(RoundStepper.notApplied(new EnvUnavailableException("batch_answer_full in a proxy's text",
                (Throwable) null))).isFalse();
        assertThat(RoundStepper.notApplied(new EnvInfrastructureException("503 batch_answer_full: x"))).isFalse();
    }

    /** Rounds played of the game {@code groupId} of {@code groupSize} episodes in {@code steps}. */
    private static int rounds(List<Step> steps, String groupId, int groupSize) {
        return steps.stream().filter(s -> s.getGroupId().equals(groupId) && s.getGroupSize() == groupSize)
                .mapToInt(Step::getT).max().orElse(-1) + 1;
    }
}
