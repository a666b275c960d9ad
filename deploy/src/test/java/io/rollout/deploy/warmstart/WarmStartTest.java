package io.rollout.deploy.warmstart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.prompt.ActionFormat;
import io.rollout.actor.prompt.CompactFormat;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.env.EnvConfig;
import io.rollout.env.Environment;
import io.rollout.env.client.EnvClient;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import io.rollout.policy.Policy;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.schemas.serde.Packed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Warm-start demonstrations are what an actor sees and writes, token for token, and a short
 * warm start fits them: the tiny model, a real env-service over HTTP, the actors' player.
 */
class WarmStartTest {

    private static final Map<String, String> HARDER = Map.of("player_walk", "3", "min_solution", "3");

    @TempDir
    static Path dir;

    private static Path base;
    private static Policy policy;

    @BeforeAll
    static void writeTinyModel() {
        base = dir.resolve("base");
        TinyModels.write(base, TinyModelSpec.defaults(), TinyModels.defaultWords(), 3);
        policy = Policy.load(base);
    }

    @AfterAll
    static void close() {
        policy.close();
    }

    @Test
    void shouldWriteSokobanDemonstrationsInTheActorsPromptFormatTokenForToken() {
        assertDemonstrationsMatchTheActor("sokoban", HARDER, CompactFormat.NAME, 0, 12_345);
    }

    @Test
    void shouldWriteHouseholdDemonstrationsWithHistoryInTheActorsPromptFormatTokenForToken() {
        assertDemonstrationsMatchTheActor("household", Map.of(), CompactFormat.NAME, 2, 77);
    }

    // A word the tiny tokenizer does not know becomes <unk>, which decodes to nothing: an action
    // naming it could never be written.
    @Test
    void shouldTokenizeEveryDemonstrationWithoutUnknownWords() {
        int unk = policy.tokenizer().tokenId("<unk>");
        PromptBuilder prompts = new PromptBuilder(policy, new CompactFormat(List.of()), 3, 4096);
        SplittableRandom seeds = new SplittableRandom(1);
        for (String env : List.of("household", "sokoban")) {
            Demonstrations.Set demos = Demonstrations.collect(policy, prompts, WarmStart.environment(env),
                    EnvConfig.empty(), 30, 1500, () -> seeds.nextLong(WarmStart.TRAINING_SEEDS));
            for (Demonstrations.Step step : demos.steps()) {
                assertThat(step.prompt()).as("%s prompt: %s", env, policy.tokenizer().decode(step.prompt()))
                        .doesNotContain(unk);
                assertThat(step.response()).as("%s answer %s", env, step.action()).doesNotContain(unk);
            }
        }
    }

    @Test
    void shouldLowerTheHeldOutDemonstrationLossAndWriteALoadableModel() throws Exception {
        Path out = dir.resolve("warm");
        WarmStartSpec spec = new WarmStartSpec("sokoban", HARDER, CompactFormat.NAME, 0, 4096, 20, 400, 100, 2, 16, 3e-3,
                0, 5);
        List<Long> reported = new ArrayList<>();

        WarmStart.Result r = WarmStart.run(base, out, spec, (step, steps, loss, seconds) -> reported.add(step));

        assertThat(r.demonstrations()).isEqualTo(400);
        assertThat(r.heldOut()).isEqualTo(100);
        assertThat(r.steps()).isEqualTo(spec.optimizerSteps()).isEqualTo(50);
        assertThat(r.stoppedEarly()).isFalse();
        assertThat(r.heldOutLossAfter()).isLessThan(r.heldOutLossBefore() * 0.5);
        assertThat(r.trainLossLast()).isLessThan(r.trainLossFirst());
        assertThat(reported).last().isEqualTo(50L);
        // A complete Hugging Face directory that loads, differs from the base, and is recognised as made from it.
        assertThat(out.resolve("config.json")).exists();
        assertThat(out.resolve("tokenizer.json")).hasSameBinaryContentAs(base.resolve("tokenizer.json"));
        assertThat(out.resolve(WarmStart.RECORD_FILE)).exists();
        try (Policy warm = Policy.load(out)) {
            int[] tokens = {1, 2, 3};
            assertThat(warm.logits(tokens, null)[2]).isNotEqualTo(policy.logits(tokens, null)[2]);
        }
        assertThat(WarmStart.matches(out, base, spec)).isTrue();
        WarmStartSpec otherSeed = new WarmStartSpec("sokoban", HARDER, CompactFormat.NAME, 0, 4096, 20, 400, 100, 2, 16,
                3e-3, 0, 6);
        assertThat(WarmStart.matches(out, base, otherSeed)).isFalse();
        assertThat(WarmStart.matches(out, out, spec)).isFalse();
        assertThat(Files.list(dir).map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp-"));
    }

    @Test
    void shouldGiveTheSameWeightsForTheSameSpec() throws Exception {
        WarmStartSpec spec = new WarmStartSpec("sokoban", HARDER, CompactFormat.NAME, 0, 4096, 20, 64, 0, 1, 16, 3e-3, 0, 9);
        WarmStart.run(base, dir.resolve("a"), spec, (step, steps, loss, seconds) -> { });
        WarmStart.run(base, dir.resolve("b"), spec, (step, steps, loss, seconds) -> { });

        assertThat(dir.resolve("a/model.safetensors")).hasSameBinaryContentAs(dir.resolve("b/model.safetensors"));
    }

    @Test
    void shouldRefuseToOverwriteItsOwnBase() {
        WarmStartSpec spec = new WarmStartSpec("sokoban", HARDER, CompactFormat.NAME, 0, 4096, 20, 8, 0, 1, 8, 3e-3, 0, 1);

        assertThatThrownBy(() -> WarmStart.run(base, base, spec, (step, steps, loss, seconds) -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("differ");
    }

    /**
     * Plays one level with the actors' {@link GroupPlayer} against env-service over HTTP, the
     * generator answering with the demonstration's response tokens, and compares every step.
     */
    private static void assertDemonstrationsMatchTheActor(String env, Map<String, String> config, String format,
            int history, long seed) {
        PlayerConfig player = PlayerConfig.defaults("actor-0", format).withHistory(history, 4096).withSeed(1L);
        ActionFormat actionFormat = player.format();
        PromptBuilder prompts = new PromptBuilder(policy, actionFormat, history, 4096);
        Demonstrations.Set demos;
        try (Environment expert = WarmStart.environment(env).create()) {
            demos = Demonstrations.episode(policy, prompts, expert, EnvConfig.of(config), 20, seed);
        }
        assertThat(demos.episodes()).isEqualTo(1);
        assertThat(demos.solved()).isEqualTo(1);
        List<Demonstrations.Step> steps = demos.steps();
        int end = policy.endOfResponseToken(actionFormat.chat());
        for (Demonstrations.Step s : steps) {
            assertThat(s.response()[s.response().length - 1]).isEqualTo(end);
        }

        SessionManager sessions = new SessionManager(new EnvRegistry(List.of(new SokobanFactory(),
                new HouseholdFactory())), 64, Duration.ofMinutes(1), System::nanoTime);
        ExecutorService calls = Executors.newFixedThreadPool(2);
        try (EnvServer server = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 1 << 20, Duration.ofMinutes(1)),
                sessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
                EnvClient client = EnvClient.create(server.url(), Duration.ofSeconds(5), Duration.ofSeconds(30))) {
            Iterator<Demonstrations.Step> answers = steps.iterator();
            GroupPlayer actor = new GroupPlayer(client, prompts, (batch, params, adapter) -> {
                Demonstrations.Step d = answers.next();
                return List.of(new Completion(d.response(), new float[d.response().length],
                        policy.tokenizer().decode(d.response()), Completion.FinishReason.STOP_TOKEN));
            }, player, calls);
            Task task = Task.newBuilder().setGroupId("g").setEnv(env).setEnvConfig(config).setSeed(seed)
                    .setGroupSize(1).setMaxSteps(20).setAttempt(0).setPolicyVersion(0).setCreatedAtMs(0).build();

            List<Step> played = actor.play(task, AdapterRef.base());

            assertThat(played).hasSameSizeAs(steps);
            for (int t = 0; t < steps.size(); t++) {
                assertThat(Packed.toInts(played.get(t).getPromptTokens())).as("prompt of step %d", t)
                        .containsExactly(steps.get(t).prompt());
                assertThat(Packed.toInts(played.get(t).getResponseTokens())).as("response of step %d", t)
                        .containsExactly(steps.get(t).response());
                assertThat(played.get(t).getValid()).isTrue();
            }
            assertThat(played.get(played.size() - 1).getTerminalReason()).isEqualTo(TerminalReason.SUCCESS);
        } finally {
            calls.shutdownNow();
        }
    }
}
