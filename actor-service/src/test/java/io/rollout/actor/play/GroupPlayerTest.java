package io.rollout.actor.play;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.rollout.actor.TestWorld;
import io.rollout.actor.prompt.ActionFormat;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import io.rollout.env.server.EnvServer;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.schemas.serde.Packed;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Plays Sokoban groups with the real tiny model against a real env-service on a loopback port. */
class GroupPlayerTest {

    private static final Set<TerminalReason> ENDS =
            Set.of(TerminalReason.SUCCESS, TerminalReason.FAILURE, TerminalReason.TRUNCATED);

    private static Policy policy;
    private static EnvServer server;
    private static EnvClient client;
    private static ExecutorService envCalls;

    private final PlayerConfig config = PlayerConfig.defaults("actor-test", "compact").withSeed(42L);

    @BeforeAll
    static void start() {
        policy = TestWorld.policy();
        server = TestWorld.startServer(64);
        client = EnvClient.create(server.url(), Duration.ofSeconds(2), Duration.ofSeconds(5));
        envCalls = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
        envCalls.shutdownNow();
    }

    /** A player over {@code policy::generate} that records the batch size of every generation call. */
    private GroupPlayer countingPlayer(EnvClient env, PlayerConfig cfg, List<Integer> batchSizes) {
        BatchGenerator counting = (prompts, params, adapter) -> {
            batchSizes.add(prompts.size());
            return policy.generate(prompts, params, adapter);
        };
        return new GroupPlayer(env, new PromptBuilder(policy, cfg.format(), cfg.historyLength(),
                cfg.maxPromptTokens()), counting, cfg, envCalls);
    }

    private static Map<Integer, List<Step>> byEpisode(List<Step> steps) {
        return steps.stream().collect(Collectors.groupingBy(Step::getEpisode));
    }

    /**
     * A task's sizes come from outside: a group of a billion episodes, or episodes of a billion
     * steps, would make any actor that takes the task run out of memory, so it is refused
     * (and dead-lettered) before play.
     */
    @Test
    void shouldRefuseTaskSizesBeyondTheLimits() {
        Task huge = TestWorld.sokobanTask("g", 1, 1 << 30, 5);
        assertThatThrownBy(() -> GroupPlayer.validate(huge)).hasMessageContaining("groupSize must be in 1..4096");
        Task long_ = TestWorld.sokobanTask("g", 1, 2, 1 << 30);
        assertThatThrownBy(() -> GroupPlayer.validate(long_)).hasMessageContaining("maxSteps must be in 1..10000");
        GroupPlayer.validate(TestWorld.sokobanTask("g", 1, 4096, 10_000));
    }

    @Test
    void shouldTellAnEnvServiceOutageFromABadRequest() {
        assertThat(GroupPlayer.isOutage(new EnvRequestException(404, "unknown_session", "no session x"))).isTrue();
        assertThat(GroupPlayer.isOutage(new EnvRequestException(404, "not_found", "no route"))).isFalse();
        assertThat(GroupPlayer.isOutage(new EnvRequestException(410, "session_expired", "idle"))).isFalse();
        assertThat(GroupPlayer.isOutage(new EnvRequestException(400, "bad_config", "x"))).isFalse();
        assertThat(GroupPlayer.isOutage(new io.rollout.env.client.EnvSessionLostException("no session x"))).isTrue();
        assertThat(GroupPlayer.isOutage(new io.rollout.env.client.EnvUnavailableException("refused",
                new java.net.ConnectException("Connection refused")))).isTrue();
        assertThat(GroupPlayer.isOutage(new io.rollout.env.client.EnvUnavailableException("slow",
                new java.net.SocketTimeoutException("no answer")))).isTrue();
        assertThat(GroupPlayer.isOutage(new EnvInfrastructureException("env-service answered 502"))).isFalse();
        assertThat(GroupPlayer.isOutage(new EnvInfrastructureException("answer over 1048576 bytes",
                new java.io.IOException("too large")))).as("an oversized answer is no outage").isFalse();
        assertThat(GroupPlayer.isOutage(new IllegalStateException("x"))).isFalse();
    }

    @Test
    void shouldRaiseAnOutageInsteadOfEndingEpisodesWhenEnvServiceIsGone() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (EnvClient gone = EnvClient.create("http://127.0.0.1:" + port, Duration.ofSeconds(1),
                Duration.ofSeconds(1))) {
            GroupPlayer raising = GroupPlayer.create(policy, gone, config, envCalls).raisingEnvOutages();
            List<Step> steps = new ArrayList<>();
            assertThatThrownBy(() -> raising.play(TestWorld.sokobanTask("g-gone", 1, 2, 3), AdapterRef.base(),
                    steps::add)).isInstanceOf(EnvOutageException.class).hasMessageContaining("session creation");
            assertThat(steps).as("nothing of the round is emitted").isEmpty();
            assertThatThrownBy(raising::probeEnv).isInstanceOf(EnvInfrastructureException.class);
        }
    }

    @Test
    void shouldPlayAGroupFromOneStartWithOneGenerationCallPerRound() {
        Task task = TestWorld.sokobanTask("g-play", 7, 4, 3);
        String start = client.createSession("sokoban", 7, Map.of()).observation().anchor();
        List<Integer> batchSizes = new ArrayList<>();
        LoraAdapter adapter = policy.newAdapter(LoraSpec.defaults("tiny"), 3);
        try {
            List<Step> steps = countingPlayer(client, config, batchSizes)
                    .play(task, new AdapterRef(new AdapterVersion(5, adapter)));

            Map<Integer, List<Step>> episodes = byEpisode(steps);
            assertThat(episodes).containsOnlyKeys(0, 1, 2, 3);
            int rounds = steps.stream().mapToInt(Step::getT).max().orElseThrow() + 1;
            assertThat(rounds).isBetween(1, 3);
            assertThat(batchSizes).hasSize(rounds);
            for (int t = 0; t < rounds; t++) {
                int round = t;
                assertThat(batchSizes.get(t)).isEqualTo((int) steps.stream().filter(s -> s.getT() == round).count());
            }
            assertThat(batchSizes.get(0)).isEqualTo(4);
            for (List<Step> episode : episodes.values()) {
                assertThat(episode.get(0).getAnchor()).isEqualTo(start);
                for (int t = 0; t < episode.size(); t++) {
                    Step s = episode.get(t);
                    boolean last = t == episode.size() - 1;
                    assertThat(s.getT()).isEqualTo(t);
                    assertThat(s.getDone()).isEqualTo(last);
                    if (last) {
                        assertThat(s.getTerminalReason()).isIn(ENDS);
                    } else {
                        assertThat(s.getTerminalReason()).isEqualTo(TerminalReason.NONE);
                    }
                    assertThat(s.getGroupId()).isEqualTo("g-play");
                    assertThat(s.getGroupSize()).isEqualTo(4);
                    assertThat(s.getEnv()).isEqualTo("sokoban");
                    assertThat(s.getActorId()).isEqualTo("actor-test");
                    assertThat(s.getPolicyVersion()).isEqualTo(5);
                    int[] prompt = Packed.toInts(s.getPromptTokens());
                    int[] response = Packed.toInts(s.getResponseTokens());
                    float[] logProbs = Packed.toFloats(s.getOldLogProbs());
                    assertThat(prompt).isNotEmpty();
                    assertThat(policy.tokenizer().decode(prompt)).endsWith("action :");
                    assertThat(response).isNotEmpty();
                    assertThat(logProbs).hasSameSizeAs(response);
                    for (float lp : logProbs) {
                        assertThat(lp).isLessThanOrEqualTo(0f);
                    }
                    // Sokoban accepts exactly the answers with a direction word; unparsable ones cost 0.1.
                    boolean parsed = config.format().parse(policy.tokenizer().decode(response),
                            io.rollout.env.Observation.ofState(s.getAnchor())).isPresent();
                    assertThat(s.getValid()).isEqualTo(parsed);
                    if (!parsed) {
                        assertThat(s.getReward()).isCloseTo(-0.1f, within(1e-6f));
                    }
                    assertThat(s.getTimings().getGenerateMicros()).isPositive();
                    assertThat(s.getTimings().getEnvMicros()).isPositive();
                }
            }
            // Random tiny-model answers: some carry a direction word (valid moves), some do not.
            assertThat(steps).anyMatch(Step::getValid);
            if (rounds == 3) {
                assertThat(steps.stream().filter(s -> s.getT() == 2).map(Step::getTerminalReason))
                        .allMatch(ENDS::contains);
            }
        } finally {
            adapter.close();
        }
    }

    @Test
    void shouldTruncateAtTheTasksMaxStepsWhenEveryAnswerIsUnparsable() {
        // The tiny tokenizer decodes "<action>" as "< action >", so think-action never parses an
        // answer of it: every action is sent as unparsable, Sokoban prices it -0.1 and does not
        // count it, so only the task's maxSteps ends the episodes.
        PlayerConfig think = PlayerConfig.defaults("actor-test", "think-action").withMaxNewTokens(6).withSeed(1L);
        List<Integer> batchSizes = new ArrayList<>();

        List<Step> steps = countingPlayer(client, think, batchSizes).play(TestWorld.sokobanTask("g-think", 3, 2, 3),
                AdapterRef.base());

        assertThat(steps).hasSize(6);
        assertThat(batchSizes).containsExactly(2, 2, 2);
        assertThat(steps).allSatisfy(s -> {
            assertThat(s.getValid()).isFalse();
            assertThat(s.getReward()).isCloseTo(-0.1f, within(1e-6f));
            assertThat(s.getPolicyVersion()).isZero();
            assertThat(s.getDone()).isEqualTo(s.getT() == 2);
            assertThat(s.getTerminalReason()).isEqualTo(s.getT() == 2 ? TerminalReason.TRUNCATED : TerminalReason.NONE);
        });
        // No move happened: every step saw the start state.
        assertThat(steps.stream().map(Step::getAnchor).distinct()).hasSize(1);
    }

    @Test
    void shouldPlayTheSameStepsTwiceWithTheSameSeed() {
        GroupPlayer player = GroupPlayer.create(policy, client, config, envCalls);
        Task task = TestWorld.sokobanTask("g-repeat", 9, 3, 3);

        List<Step> first = player.play(task, AdapterRef.base());
        List<Step> second = player.play(task, AdapterRef.base());

        assertThat(second).hasSameSizeAs(first);
        for (int i = 0; i < first.size(); i++) {
            assertThat(second.get(i).getResponseTokens()).isEqualTo(first.get(i).getResponseTokens());
            assertThat(second.get(i).getAnchor()).isEqualTo(first.get(i).getAnchor());
            assertThat(second.get(i).getReward()).isEqualTo(first.get(i).getReward());
        }
    }

    @Test
    void shouldCarryTheNewAdapterVersionAfterASwapBetweenRounds() {
        LoraAdapter next = policy.newAdapter(LoraSpec.defaults("tiny"), 9);
        AdapterRef ref = AdapterRef.base();
        // Think-action answers never parse with the tiny tokenizer, so all 3 rounds happen.
        PlayerConfig think = PlayerConfig.defaults("actor-test", "think-action").withMaxNewTokens(4).withSeed(2L);
        List<Step> steps = new ArrayList<>();
        try {
            GroupPlayer.create(policy, client, think, envCalls).play(TestWorld.sokobanTask("g-swap", 5, 2, 3), ref,
                    step -> {
                        steps.add(step);
                        ref.set(new AdapterVersion(7, next));
                    });
        } finally {
            next.close();
        }

        assertThat(steps).hasSize(6);
        assertThat(steps).allSatisfy(s -> assertThat(s.getPolicyVersion()).isEqualTo(s.getT() == 0 ? 0 : 7));
    }

    @Test
    void shouldEndEpisodesWithInfraErrorWhenTheServerGoesAwayMidGame() {
        EnvServer doomed = TestWorld.startServer(16);
        List<Step> steps = new ArrayList<>();
        try (EnvClient env = EnvClient.create(doomed.url(), Duration.ofSeconds(1), Duration.ofSeconds(2))) {
            PlayerConfig think = PlayerConfig.defaults("actor-test", "think-action").withMaxNewTokens(4).withSeed(3L);
            GroupPlayer player = GroupPlayer.create(policy, env, think, envCalls);

            player.play(TestWorld.sokobanTask("g-down", 4, 3, 5), AdapterRef.base(), step -> {
                steps.add(step);
                if (steps.size() == 3) {
                    doomed.close();
                }
            });
        } finally {
            doomed.close();
        }

        assertThat(steps).hasSize(6);
        assertThat(steps.subList(0, 3)).allSatisfy(s -> {
            assertThat(s.getT()).isZero();
            assertThat(s.getTerminalReason()).isEqualTo(TerminalReason.NONE);
        });
        assertThat(steps.subList(3, 6)).extracting(Step::getEpisode).containsExactly(0, 1, 2);
        assertThat(steps.subList(3, 6)).allSatisfy(s -> {
            assertThat(s.getT()).isEqualTo(1);
            assertThat(s.getDone()).isTrue();
            assertThat(s.getTerminalReason()).isEqualTo(TerminalReason.INFRA_ERROR);
            assertThat(s.getReward()).isZero();
            assertThat(s.getValid()).isFalse();
            assertThat(Packed.toInts(s.getResponseTokens())).isNotEmpty();
        });
    }

    @Test
    void shouldEndOnlyTheEpisodesWhoseSessionsCouldNotBeCreated() {
        EnvServer small = TestWorld.startServer(2);
        List<Integer> batchSizes = new ArrayList<>();
        List<Step> steps;
        try (EnvClient env = EnvClient.create(small.url(), Duration.ofSeconds(1), Duration.ofSeconds(2))) {
            steps = countingPlayer(env, config, batchSizes).play(TestWorld.sokobanTask("g-full", 7, 4, 2),
                    AdapterRef.base());
        } finally {
            small.close();
        }

        Map<Boolean, List<List<Step>>> byInfra = byEpisode(steps).values().stream()
                .collect(Collectors.partitioningBy(e -> e.get(0).getTerminalReason() == TerminalReason.INFRA_ERROR));
        assertThat(byInfra.get(true)).hasSize(2).allSatisfy(e -> {
            assertThat(e).hasSize(1);
            Step s = e.get(0);
            assertThat(s.getDone()).isTrue();
            assertThat(s.getReward()).isZero();
            assertThat(s.getValid()).isFalse();
            assertThat(s.getT()).isZero();
        });
        assertThat(byInfra.get(false)).hasSize(2).allSatisfy(e -> {
            assertThat(e.get(0).getAnchor()).isNotEmpty();
            assertThat(e.get(e.size() - 1).getTerminalReason()).isIn(ENDS);
        });
        assertThat(batchSizes.get(0)).isEqualTo(2);
    }

    @Test
    void shouldEndEveryEpisodeWithInfraErrorWhenNothingListens() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        List<Integer> batchSizes = new ArrayList<>();
        List<Step> steps;
        try (EnvClient env = EnvClient.create("http://127.0.0.1:" + port, Duration.ofSeconds(1),
                Duration.ofSeconds(2))) {
            steps = countingPlayer(env, config, batchSizes).play(TestWorld.sokobanTask("g-none", 1, 3, 3),
                    new AdapterRef(new AdapterVersion(4, null)));
        }

        assertThat(batchSizes).isEmpty();
        assertThat(steps).hasSize(3).allSatisfy(s -> {
            assertThat(s.getTerminalReason()).isEqualTo(TerminalReason.INFRA_ERROR);
            assertThat(s.getDone()).isTrue();
            assertThat(s.getReward()).isZero();
            assertThat(s.getPolicyVersion()).isEqualTo(4);
        });
    }

    @Test
    void shouldRefuseABadConfigNamingTheField() {
        assertThatThrownBy(() -> config.withTemperature(-1)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> config.withMaxNewTokens(0)).hasMessageContaining("maxNewTokens");
        assertThatThrownBy(() -> PlayerConfig.defaults("a", "json")).hasMessageContaining("json");
        assertThatThrownBy(() -> new PlayerConfig("a", "compact", List.of(), 1, 0, 8, 0, 10, null))
                .hasMessageContaining("topP");
        assertThat(PlayerConfig.defaults("a", "compact").maxNewTokens()).isEqualTo(8);
        assertThat(PlayerConfig.defaults("a", ActionFormat.named("think-action", List.of()).name()).maxNewTokens())
                .isEqualTo(256);
    }
}
