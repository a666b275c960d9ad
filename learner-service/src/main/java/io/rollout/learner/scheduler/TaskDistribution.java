package io.rollout.learner.scheduler;

import static io.rollout.policy.sampling.Seeds.mix64;

import io.rollout.schemas.Limits;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The weighted mix of {@link TaskSource}s a run trains on. A draw is a pure function of
 * (run seed, group index): a run is reproducible, and generating group {@code i} again, for
 * instance after a restart, gives the same task without replaying the groups before it.
 */
public final class TaskDistribution {

    private static final Set<String> KEYS = Set.of("env", "seeds", "group-size", "max-steps", "weight");
    private static final Pattern SEEDS = Pattern.compile("(\\d+)-(\\d+)");
    private static final long GAMMA = 0x9e3779b97f4a7c15L;

    private final List<TaskSource> sources;
    private final double[] cumulative;

    public TaskDistribution(List<TaskSource> sources) {
        if (sources == null || sources.isEmpty()) {
            throw new IllegalArgumentException("a task distribution needs at least one task source");
        }
        this.sources = List.copyOf(sources);
        this.cumulative = new double[this.sources.size()];
        double sum = 0;
        for (int i = 0; i < cumulative.length; i++) {
            sum += this.sources.get(i).weight();
            cumulative[i] = sum;
        }
        if (Double.isInfinite(sum)) {
            throw new IllegalArgumentException("the sum of the task sources' weights must be finite");
        }
    }

    /**
     * Parses one source per spec: a comma-separated {@code key=value} list, e.g.
     * {@code env=sokoban,seeds=0-100000,group-size=8,max-steps=20,weight=1,config.dim_room=6}.
     * Keys: {@code env} (required), {@code seeds} (FROM-TO, TO exclusive; default
     * 0-1000000000), {@code group-size} (default 8), {@code max-steps} (default 20),
     * {@code weight} (default 1) and {@code config.NAME} for each environment setting.
     *
     * @throws IllegalArgumentException naming the spec and the key at fault
     */
    public static TaskDistribution parse(List<String> specs) {
        if (specs == null || specs.isEmpty()) {
            throw new IllegalArgumentException("at least one task spec is needed, e.g. env=sokoban,group-size=8");
        }
        List<TaskSource> sources = new ArrayList<>();
        for (String spec : specs) {
            sources.add(parseSource(spec));
        }
        return new TaskDistribution(sources);
    }

    private static TaskSource parseSource(String spec) {
        Map<String, String> fields = new LinkedHashMap<>();
        Map<String, String> config = new TreeMap<>();
        for (String part : spec.split(",", -1)) {
            String item = part.strip();
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw bad(spec, "'" + item + "' is not key=value");
            }
            String key = item.substring(0, eq).strip();
            String value = item.substring(eq + 1).strip();
            if (value.isEmpty()) {
                throw bad(spec, key + " has no value");
            }
            if (key.startsWith("config.")) {
                String name = key.substring("config.".length());
                if (name.isEmpty()) {
                    throw bad(spec, "config. needs a setting name, as in config.dim_room=6");
                }
                if (config.put(name, value) != null) {
                    throw bad(spec, key + " is given twice");
                }
            } else if (!KEYS.contains(key)) {
                throw bad(spec, "unknown key '" + key + "'; known: env, seeds, group-size, max-steps, weight, config.NAME");
            } else if (fields.put(key, value) != null) {
                throw bad(spec, key + " is given twice");
            }
        }
        String env = fields.get("env");
        if (env == null) {
            throw bad(spec, "env is required");
        }
        String seeds = fields.getOrDefault("seeds", "0-1000000000");
        Matcher m = SEEDS.matcher(seeds);
        long from;
        long to;
        try {
            if (!m.matches()) {
                throw new NumberFormatException();
            }
            from = Long.parseLong(m.group(1));
            to = Long.parseLong(m.group(2));
        } catch (NumberFormatException e) {
            throw bad(spec, "seeds must be FROM-TO (TO exclusive), got '" + seeds + "'");
        }
        if (to <= from) {
            throw bad(spec, "seeds FROM-TO needs FROM < TO (TO is exclusive), got '" + seeds + "'");
        }
        int groupSize = positiveInt(spec, "group-size", fields.getOrDefault("group-size", "8"));
        int maxSteps = positiveInt(spec, "max-steps", fields.getOrDefault("max-steps", "20"));
        // Actors refuse (dead-letter) tasks beyond these, so the scheduler never dispatches one.
        if (!Limits.isValidGroupSize(groupSize)) {
            throw bad(spec, "group-size must be at most " + Limits.MAX_GROUP_SIZE + ", got " + groupSize);
        }
        if (!Limits.isValidMaxSteps(maxSteps)) {
            throw bad(spec, "max-steps must be at most " + Limits.MAX_EPISODE_STEPS + ", got " + maxSteps);
        }
        String w = fields.getOrDefault("weight", "1");
        double weight;
        try {
            weight = Double.parseDouble(w);
        } catch (NumberFormatException e) {
            weight = Double.NaN;
        }
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw bad(spec, "weight must be a positive finite number, got '" + w + "'");
        }
        return new TaskSource(env, config, from, to, groupSize, maxSteps, weight);
    }

    private static int positiveInt(String spec, String key, String value) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw bad(spec, key + " must be an integer, got '" + value + "'");
        }
        if (n < 1) {
            throw bad(spec, key + " must be >= 1, got " + n);
        }
        return n;
    }

    private static IllegalArgumentException bad(String spec, String problem) {
        return new IllegalArgumentException("task spec '" + spec + "': " + problem);
    }

    public List<TaskSource> sources() {
        return sources;
    }

    /**
     * The task of group {@code index} of the run seeded {@code runSeed}: (runSeed, index) is
     * mixed into a SplitMix64 state, whose first output picks the source by weight and whose
     * next outputs give a seed uniformly in the source's range (rejection sampling, no
     * modulo bias).
     */
    public TaskDraw draw(long runSeed, long index) {
        if (index < 0) {
            throw new IllegalArgumentException("index must be >= 0, got " + index);
        }
        long state = mix64(mix64(runSeed) ^ index);
        state += GAMMA;
        double u = (mix64(state) >>> 11) * 0x1.0p-53 * cumulative[cumulative.length - 1];
        int pick = 0;
        while (pick < cumulative.length - 1 && u >= cumulative[pick]) {
            pick++;
        }
        TaskSource source = sources.get(pick);
        long range = source.seedTo() - source.seedFrom();
        long r;
        long offset;
        do {
            state += GAMMA;
            r = mix64(state) >>> 1;
            offset = r % range;
        } while (r - offset + (range - 1) < 0);
        return new TaskDraw(source, source.seedFrom() + offset);
    }

}
