package io.rollout.policy.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import io.rollout.policy.Policy;
import io.rollout.policy.TinyPolicies;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.policy.scoring.ResponseScores;
import io.rollout.policy.text.ChatTemplate;
import io.rollout.policy.tiny.TinyModels;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {

    static Policy policy;

    @BeforeAll
    static void load() {
        policy = Policy.load(TinyPolicies.untied());
    }

    @AfterAll
    static void close() {
        policy.close();
    }

    static List<int[]> prompts() {
        Random r = new Random(5);
        int vocab = TinyModels.vocabulary(TinyPolicies.WORDS).size() - TinyModels.SPECIAL_TOKENS.size();
        return List.of(r.ints(9, 0, vocab).toArray(), r.ints(3, 0, vocab).toArray(), r.ints(17, 0, vocab).toArray());
    }

    static SamplingParams sampling() {
        // No stop tokens: every completion runs the full length, so all steps get compared.
        return SamplingParams.defaults().withMaxNewTokens(24).withSeed(42);
    }

    @Test
    void shouldGiveTheSameTokensAndLogProbsWithAndWithoutTheCache() {
        try (LoraAdapter adapter = trainedLookingAdapter()) {
            Generator g = new Generator(policy.model(), null, List.of());
            List<Completion> cached = g.generate(prompts(), sampling(), adapter);
            List<Completion> recomputed = g.generateWithoutCache(prompts(), sampling(), adapter);
            for (int i = 0; i < cached.size(); i++) {
                assertThat(cached.get(i).tokens()).hasSize(24).containsExactly(recomputed.get(i).tokens());
                float[] a = cached.get(i).logProbs();
                float[] b = recomputed.get(i).logProbs();
                for (int t = 0; t < a.length; t++) {
                    assertThat(a[t]).isCloseTo(b[t], within(1e-4f));
                }
            }
        }
    }

    @Test
    void shouldGiveAPaddedSequenceWhatItGetsAlone() {
        Generator g = new Generator(policy.model(), null, List.of());
        List<Completion> batch = g.generate(prompts(), sampling(), null);
        List<int[]> prompts = prompts();
        for (int i = 0; i < prompts.size(); i++) {
            Completion alone = g.generate(List.of(prompts.get(i)), sampling().withSeed(42 + i), null).get(0);
            assertThat(batch.get(i).tokens()).containsExactly(alone.tokens());
            for (int t = 0; t < alone.logProbs().length; t++) {
                assertThat(batch.get(i).logProbs()[t]).isCloseTo(alone.logProbs()[t], within(1e-4f));
            }
        }
    }

    @Test
    void shouldRecordTheLogProbTheTrainingForwardComputes() {
        double temperature = 0.7;
        SamplingParams params = sampling().withTemperature(temperature).withTopP(0.9);
        List<Completion> out = policy.generate(prompts(), params, null);
        List<int[]> responses = out.stream().map(Completion::tokens).toList();
        try (NDManager scope = policy.model().manager().newSubManager()) {
            ResponseScores scores = policy.scorer().score(scope, prompts(), responses, temperature, null);
            float[] lp = scores.logProbs().toFloatArray();
            int r = (int) scores.logProbs().getShape().get(1);
            for (int b = 0; b < out.size(); b++) {
                for (int t = 0; t < out.get(b).logProbs().length; t++) {
                    assertThat(lp[b * r + t]).isCloseTo(out.get(b).logProbs()[t], within(1e-4f));
                }
            }
        }
    }

    @Test
    void shouldRepeatACompletionForTheSameSeedAndVaryWithAnother() {
        List<Completion> a = policy.generate(prompts(), sampling(), null);
        List<Completion> b = policy.generate(prompts(), sampling(), null);
        List<Completion> c = policy.generate(prompts(), sampling().withSeed(43), null);
        assertThat(a.get(0).tokens()).containsExactly(b.get(0).tokens());
        assertThat(a.get(0).tokens()).isNotEqualTo(c.get(0).tokens());
    }

    @Test
    void shouldPickTheArgmaxAtTemperatureZero() {
        int[] prompt = prompts().get(0);
        Completion greedy = policy.generate(List.of(prompt), sampling().withTemperature(0).withMaxNewTokens(1), null).get(0);
        float[] last = policy.logits(prompt, null)[prompt.length - 1];
        int argmax = 0;
        for (int i = 1; i < last.length; i++) {
            if (last[i] > last[argmax]) {
                argmax = i;
            }
        }
        assertThat(greedy.tokens()).containsExactly(argmax);
    }

    @Test
    void shouldStopAtAStopTokenAndKeepIt() {
        Completion free = policy.generate(List.of(prompts().get(0)), sampling(), null).get(0);
        int stop = free.tokens()[5];
        int first = indexOf(free.tokens(), stop);
        Completion stopped = policy.generate(List.of(prompts().get(0)), sampling().withStopTokenIds(List.of(stop)), null)
                .get(0);
        assertThat(stopped.finish()).isEqualTo(Completion.FinishReason.STOP_TOKEN);
        assertThat(stopped.tokens()).hasSize(first + 1);
        assertThat(stopped.tokens()[first]).isEqualTo(stop);
        assertThat(free.finish()).isEqualTo(Completion.FinishReason.LENGTH);
    }

    @Test
    void shouldStopAtAStopStringAndCutTheTextBeforeIt() {
        Completion free = policy.generate(List.of(prompts().get(1)), sampling(), null).get(0);
        int at = 4;
        while (policy.tokenizer().decode(new int[] {free.tokens()[at]}).isEmpty()) {
            at++; // a special token decodes to nothing
        }
        String word = policy.tokenizer().decode(new int[] {free.tokens()[at]});
        Completion stopped = policy.generate(List.of(prompts().get(1)),
                sampling().withStopStrings(List.of(word)), null).get(0);
        assertThat(stopped.finish()).isEqualTo(Completion.FinishReason.STOP_STRING);
        assertThat(stopped.text()).doesNotContain(word);
        assertThat(free.text()).startsWith(stopped.text());
        assertThat(stopped.tokens().length).isLessThanOrEqualTo(at + 1);
    }

    @Test
    void shouldEndChatTurnsAtTheModelsEosTokens() {
        int[] prompt = policy.encodeChat(List.of(ChatTemplate.Message.user("move up")), null);
        int stoppedAtEos = 0;
        for (int seed = 0; seed < 20; seed++) {
            Completion c = policy.generate(List.of(prompt), sampling().withSeed(seed).withMaxNewTokens(64), null).get(0);
            if (c.finish() == Completion.FinishReason.STOP_TOKEN) {
                assertThat(policy.config().stopTokenIds()).contains(c.tokens()[c.tokens().length - 1]);
                stoppedAtEos++;
            }
        }
        assertThat(stoppedAtEos).as("completions that ended at an eos token").isPositive();
    }

    @Test
    void shouldSampleOnlyInsideTheNucleus() {
        int[] prompt = prompts().get(2);
        float[] last = policy.logits(prompt, null)[prompt.length - 1];
        double[] p = new double[last.length];
        double max = Double.NEGATIVE_INFINITY;
        for (float v : last) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(last[i] - max);
            sum += p[i];
        }
        double top = 0;
        for (double v : p) {
            top = Math.max(top, v / sum);
        }
        // top-p below the largest probability leaves only the most likely token.
        for (int seed = 0; seed < 10; seed++) {
            Completion c = policy.generate(List.of(prompt),
                    sampling().withTopP(top * 0.99).withMaxNewTokens(1).withSeed(seed), null).get(0);
            assertThat(p[c.tokens()[0]] / sum).isEqualTo(top);
        }
    }

    @Test
    void shouldRefuseBadRequests() {
        assertThatThrownBy(() -> policy.generate(List.of(new int[] {1_000_000}), sampling(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
        assertThatThrownBy(() -> policy.generate(List.of(new int[0]), sampling(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty prompt");
        assertThatThrownBy(() -> policy.generate(List.of(new int[] {1}), sampling().withMaxNewTokens(5000), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positions");
        assertThatThrownBy(() -> sampling().withTopP(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampling().withTemperature(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    /** An adapter with non-zero B so the LoRA path changes the logits. */
    static LoraAdapter trainedLookingAdapter() {
        return trainedLookingAdapter(policy);
    }

    static LoraAdapter trainedLookingAdapter(Policy policy) {
        return trainedLookingAdapter(policy, 9);
    }

    /** Adapters of different {@code seed}s give different logits. */
    static LoraAdapter trainedLookingAdapter(Policy policy, long seed) {
        LoraAdapter adapter = policy.newAdapter(LoraSpec.defaults("tiny").withRank(4), 3);
        Random r = new Random(seed);
        adapter.weights().values().forEach(ab -> {
            float[] b = new float[(int) ab[1].size()];
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (r.nextGaussian() * 0.1);
            }
            ab[1].set(b);
        });
        return adapter;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }
}
