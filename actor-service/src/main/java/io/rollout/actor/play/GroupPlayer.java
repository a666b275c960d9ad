package io.rollout.actor.play;

import static io.rollout.policy.sampling.Seeds.mix64;

import io.rollout.actor.prompt.ActionFormat;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.actor.prompt.Turn;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.api.StepBatchRequest;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import io.rollout.env.client.EnvSessionLostException;
import io.rollout.env.client.EnvUnavailableException;
import io.rollout.policy.Policy;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.sampling.SamplingParams;
import io.rollout.records.Step;
import io.rollout.records.StepTimings;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.schemas.Limits;
import io.rollout.schemas.serde.Packed;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plays one task: N episodes from the same environment, config and seed, in lockstep rounds.
 * Each round reads the adapter version once, builds the prompts of every active episode, makes
 * ONE batched generation call, parses the actions, steps every episode's env session with ONE
 * {@code POST /v1/steps} call (per 256 episodes; see {@link RoundStepper} for items sent again
 * and for an env-service without that endpoint, which is then stepped one request per session,
 * concurrently on the given executor) and emits one {@link Step} per action, in episode order,
 * on the calling thread (so the sink need not be thread-safe). The sessions are opened with one
 * {@code POST /v1/sessions/batch} and closed at the end with one {@code POST /v1/sessions/close}
 * (per 256; {@link GroupSessions}), also when generation or the sink throws or after an outage.
 *
 * <p>Outcomes of a step: {@code SUCCESS} when the environment reports a win, {@code FAILURE}
 * when it ends the episode otherwise, {@code TRUNCATED} (with done) when the task's
 * {@code maxSteps} steps are used without an end (every step counts, invalid ones too),
 * {@code NONE} before the end. A response with no readable action is sent to the environment as
 * {@link ActionFormat#UNPARSABLE}, so its own rules price the invalid action and decide whether
 * it uses a step; the step's {@code valid} is false whatever the environment answers.
 *
 * <p>Environment failures: an exception of a session creation or step call (service down,
 * timeout, 5xx, and also a 4xx, which is logged as a bad request) ends that episode with one
 * step of {@code done}, {@code INFRA_ERROR}, reward 0, not valid; the other episodes play on.
 * A creation failure's step has t 0, an empty anchor and no tokens. A generation failure is not
 * an environment failure and propagates. A player made with {@link #raisingEnvOutages()} (the
 * actor's) tells an <em>outage</em> of env-service apart ({@link #isOutage}: the connection
 * failed or timed out, or a 404 {@code unknown_session} because env-service restarted and lost
 * its sessions): it emits nothing of that round and throws {@link EnvOutageException}, so the
 * caller can play the group again once env-service answers instead of ending episodes.
 *
 * <p>Seeds: the policy samples sequence b of a batch from {@code seed + b}. With a configured
 * seed the round seed is a hash of (config seed, task seed, group id, t) and active episodes are
 * batched in episode order, so the same task played twice with the same policy and
 * environments gives the same steps; while no episode has ended, episode e draws from
 * round seed + e.
 */
public final class GroupPlayer implements TaskPlayer {

    private static final Logger LOG = LoggerFactory.getLogger(GroupPlayer.class);

    private final EnvClient env;
    private final PromptBuilder prompts;
    private final ActionFormat format;
    private final BatchGenerator generator;
    private final PlayerConfig config;
    private final Executor envCalls;
    private final RoundStepper stepper;
    private final GroupSessions sessions;
    private final boolean raiseOutages;

    /**
     * @param env the env-service client (not closed by the player)
     * @param prompts prompt builder; its format also parses the responses
     * @param generator the batched sampling call, e.g. {@code policy::generate}
     * @param config sampling, seed and actor id
     * @param envCalls runs env-service calls concurrently: batches beyond the first 256 sessions, and
     *                 every call when they go one request per session
     */
    public GroupPlayer(EnvClient env, PromptBuilder prompts, BatchGenerator generator, PlayerConfig config,
            Executor envCalls) {
        this.env = Objects.requireNonNull(env, "env");
        this.prompts = Objects.requireNonNull(prompts, "prompts");
        this.format = prompts.format();
        this.generator = Objects.requireNonNull(generator, "generator");
        this.config = Objects.requireNonNull(config, "config");
        this.envCalls = Objects.requireNonNull(envCalls, "envCalls");
        this.stepper = new RoundStepper(env, envCalls, false);
        this.sessions = new GroupSessions(env, envCalls, false);
        this.raiseOutages = false;
    }

    private GroupPlayer(GroupPlayer other, RoundStepper stepper, GroupSessions sessions, boolean raiseOutages) {
        this.env = other.env;
        this.prompts = other.prompts;
        this.format = other.format;
        this.generator = other.generator;
        this.config = other.config;
        this.envCalls = other.envCalls;
        this.stepper = stepper;
        this.sessions = sessions;
        this.raiseOutages = raiseOutages;
    }

    /**
     * This player, except that an env-service outage ({@link #isOutage}) throws
     * {@link EnvOutageException} instead of ending the episodes that met it.
     */
    public GroupPlayer raisingEnvOutages() {
        return raiseOutages ? this : new GroupPlayer(this, stepper, sessions, true);
    }

    /**
     * This player, except that it steps, opens and closes each env session with its own request, as
     * it does with an env-service that has no {@code POST /v1/steps} and no batched session routes;
     * the same steps, more requests.
     */
    public GroupPlayer singleStepping() {
        return stepper.singleSteps() && sessions.singleCalls() ? this
                : new GroupPlayer(this, new RoundStepper(env, envCalls, true), new GroupSessions(env, envCalls, true),
                        raiseOutages);
    }

    /** Asks env-service for its environments: returns when it answers, throws when it does not. */
    @Override
    public void probeEnv() {
        env.environments();
    }

    /**
     * Whether an env-service call failed because the service is unavailable or restarted (the
     * connection failed or timed out; a 404 {@code unknown_session}) rather than because of the
     * request or the environment.
     */
    public static boolean isOutage(RuntimeException e) {
        // The client names both: unreachable, timed out or 503/504, and a session lost with a restart.
        return e instanceof EnvUnavailableException || e instanceof EnvSessionLostException
                || e instanceof EnvRequestException refused && refused.status() == 404
                        && "unknown_session".equals(refused.kind());
    }

    /** A player sampling from {@code policy} with the prompt format and history of {@code config}. */
    public static GroupPlayer create(Policy policy, EnvClient env, PlayerConfig config, Executor envCalls) {
        PromptBuilder prompts = new PromptBuilder(policy, config.format(), config.historyLength(),
                config.maxPromptTokens());
        return new GroupPlayer(env, prompts, policy::generate, config, envCalls);
    }

    /** Plays {@code task} and returns its steps in the order they were emitted. */
    public List<Step> play(Task task, AdapterRef adapter) {
        List<Step> steps = new ArrayList<>();
        play(task, adapter, steps::add);
        return steps;
    }

    /** Plays {@code task}, handing each step to {@code sink} as soon as its round is over. */
    @Override
    public void play(Task task, AdapterRef adapter, Consumer<Step> sink) {
        validate(task);
        long[] seeds = new long[task.getGroupSize()];
        Arrays.fill(seeds, task.getSeed());
        run(task, seeds, adapter, sink);
    }

    /**
     * Plays one episode from each of {@code seeds} (episode e from {@code seeds[e]}) with the
     * environment, config and step bound of {@code task}, batched together as if they were one
     * group of {@code seeds.length}: how an evaluation covers many levels at batch speed. The
     * steps carry the task's group id and a group size of {@code seeds.length}.
     */
    public void playEach(Task task, long[] seeds, AdapterRef adapter, Consumer<Step> sink) {
        Task each = Task.newBuilder(task).setGroupSize(seeds.length).build();
        validate(each);
        run(each, seeds.clone(), adapter, sink);
    }

    private void run(Task task, long[] seeds, AdapterRef adapter, Consumer<Step> sink) {
        String envName = task.getEnv();
        Map<String, String> envConfig = Map.copyOf(task.getEnvConfig());
        List<Episode> episodes = new ArrayList<>();
        for (int e = 0; e < seeds.length; e++) {
            episodes.add(new Episode(e));
        }
        try {
            List<Timed<SessionCreated>> answers = sessions.create(envName, seeds, envConfig);
            for (Episode ep : episodes) {
                Timed<SessionCreated> c = answers.get(ep.index);
                if (c.value() != null) {
                    ep.session = c.value().session(); // closed in the finally below, also after an outage
                }
            }
            raiseOutage(task, "session creation", answers);
            for (Episode ep : episodes) {
                Timed<SessionCreated> c = answers.get(ep.index);
                if (c.error() != null) {
                    logFailure(task, ep, "session creation", c.error());
                    ep.done = true;
                    sink.accept(infraStep(task, ep, "", new int[0], new int[0], new float[0],
                            adapter.get().version(), 0, c.micros()));
                } else {
                    ep.observation = c.value().observation();
                }
            }
            for (int round = 0; episodes.stream().anyMatch(ep -> !ep.done); round++) {
                try (AdapterRef.Lease lease = adapter.acquire()) {
                    playRound(task, round, lease.version(), episodes, sink);
                }
            }
        } finally {
            close(episodes);
        }
    }

    private void playRound(Task task, int round, AdapterVersion version, List<Episode> episodes,
            Consumer<Step> sink) {
        List<Episode> active = episodes.stream().filter(ep -> !ep.done).toList();
        List<int[]> batch = new ArrayList<>(active.size());
        for (Episode ep : active) {
            batch.add(prompts.build(ep.observation, ep.history));
        }
        long start = System.nanoTime();
        List<Completion> completions = generator.generate(batch, sampling(task, round), version.adapter());
        long generateMicros = Timed.micros(start);
        if (completions.size() != batch.size()) {
            throw new IllegalStateException("the generator answered " + completions.size() + " completions to "
                    + batch.size() + " prompts");
        }
        List<Optional<String>> actions = new ArrayList<>(active.size());
        List<StepBatchRequest.Item> sends = new ArrayList<>(active.size());
        for (int i = 0; i < active.size(); i++) {
            Episode ep = active.get(i);
            String text = completions.get(i).text();
            Optional<String> action = format.parse(text == null ? "" : text, ep.observation);
            actions.add(action);
            sends.add(new StepBatchRequest.Item(ep.session, action.orElse(ActionFormat.UNPARSABLE)));
        }
        List<Timed<StepResult>> answers = stepper.step(sends);
        raiseOutage(task, "step", answers);
        for (int i = 0; i < active.size(); i++) {
            Episode ep = active.get(i);
            Completion c = completions.get(i);
            Timed<StepResult> r = answers.get(i);
            String anchor = ep.observation.anchor();
            if (r.error() != null) {
                logFailure(task, ep, "step", r.error());
                ep.done = true;
                sink.accept(infraStep(task, ep, anchor, batch.get(i), c.tokens(), c.logProbs(), version.version(),
                        generateMicros, r.micros()));
                continue;
            }
            StepResult result = r.value();
            boolean truncated = !result.done() && ep.t + 1 >= task.getMaxSteps();
            TerminalReason reason = result.won() ? TerminalReason.SUCCESS
                    : result.done() ? TerminalReason.FAILURE
                    : truncated ? TerminalReason.TRUNCATED
                    : TerminalReason.NONE;
            boolean done = result.done() || truncated;
            sink.accept(step(task, ep, anchor, batch.get(i), c.tokens(), c.logProbs(), (float) result.reward(),
                    actions.get(i).isPresent() && result.actionValid(), done, reason, version.version(),
                    generateMicros, r.micros()));
            ep.history.add(new Turn(ep.observation.text(), actions.get(i).orElse(ActionFormat.UNPARSABLE)));
            ep.observation = result.observation();
            ep.t++;
            ep.done = done;
        }
    }

    /** Throws {@link EnvOutageException} if raising outages and one of {@code answers} failed by one. */
    private void raiseOutage(Task task, String call, List<? extends Timed<?>> answers) {
        if (!raiseOutages) {
            return;
        }
        for (Timed<?> answer : answers) {
            if (answer.error() != null && isOutage(answer.error())) {
                throw new EnvOutageException("group " + task.getGroupId() + ": env-service " + call
                        + " failed: " + answer.error().getMessage(), answer.error());
            }
        }
    }

    private SamplingParams sampling(Task task, int t) {
        long seed = config.seed() == null ? ThreadLocalRandom.current().nextLong()
                : mix64(mix64(mix64(mix64(config.seed()) ^ task.getSeed()) ^ hash(task.getGroupId())) ^ t);
        return SamplingParams.defaults().withTemperature(config.temperature()).withTopP(config.topP())
                .withMaxNewTokens(config.maxNewTokens()).withSeed(seed);
    }

    private Step infraStep(Task task, Episode ep, String anchor, int[] prompt, int[] response, float[] logProbs,
            long version, long generateMicros, long envMicros) {
        return step(task, ep, anchor, prompt, response, logProbs, 0f, false, true, TerminalReason.INFRA_ERROR,
                version, generateMicros, envMicros);
    }

    private Step step(Task task, Episode ep, String anchor, int[] prompt, int[] response, float[] logProbs,
            float reward, boolean valid, boolean done, TerminalReason reason, long version, long generateMicros,
            long envMicros) {
        return Step.newBuilder()
                .setGroupId(task.getGroupId())
                .setEpisode(ep.index)
                .setGroupSize(task.getGroupSize())
                .setAttempt(task.getAttempt())
                .setT(ep.t)
                .setEnv(task.getEnv())
                .setAnchor(anchor)
                .setPromptTokens(Packed.ints(prompt))
                .setResponseTokens(Packed.ints(response))
                .setOldLogProbs(Packed.floats(logProbs))
                .setReward(reward)
                .setValid(valid)
                .setDone(done)
                .setTerminalReason(reason)
                .setPolicyVersion(version)
                .setActorId(config.actorId())
                .setTimings(StepTimings.newBuilder().setGenerateMicros(generateMicros).setEnvMicros(envMicros)
                        .setCreatedAtMs(System.currentTimeMillis()).build())
                .build();
    }

    private void close(List<Episode> episodes) {
        sessions.close(episodes.stream().map(ep -> ep.session).filter(Objects::nonNull).toList());
    }

    private static void logFailure(Task task, Episode ep, String call, RuntimeException e) {
        if (e instanceof EnvRequestException) {
            LOG.warn("group {} episode {}: env-service refused the {} as a bad request; ending the episode as "
                    + "INFRA_ERROR: {}", task.getGroupId(), ep.index, call, e.getMessage());
        } else if (e instanceof EnvInfrastructureException) {
            LOG.warn("group {} episode {}: env-service {} failed; ending the episode as INFRA_ERROR: {}",
                    task.getGroupId(), ep.index, call, e.getMessage());
        } else {
            LOG.warn("group {} episode {}: unexpected failure of the env {}; ending the episode as INFRA_ERROR",
                    task.getGroupId(), ep.index, call, e);
        }
    }

    /** Checks what playing needs of a task: a group size and a step bound of at least 1. */
    public static void validate(Task task) {
        // A player keeps per-episode and per-step state: sizes from outside are bounded before any of it exists.
        if (!Limits.isValidGroupSize(task.getGroupSize())) {
            throw new IllegalArgumentException("task " + task.getGroupId() + ": groupSize must be in 1.."
                    + Limits.MAX_GROUP_SIZE + ", got " + task.getGroupSize());
        }
        if (!Limits.isValidMaxSteps(task.getMaxSteps())) {
            throw new IllegalArgumentException("task " + task.getGroupId() + ": maxSteps must be in 1.."
                    + Limits.MAX_EPISODE_STEPS + ", got " + task.getMaxSteps());
        }
    }

    /** FNV-1a over UTF-8: a stable 64-bit hash of the group id. */
    private static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    private static final class Episode {
        final int index;
        final List<Turn> history = new ArrayList<>();
        String session;
        Observation observation;
        int t;
        boolean done;

        Episode(int index) {
            this.index = index;
        }
    }
}
