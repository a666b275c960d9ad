package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every option of a service command can come from an environment variable, named by the one rule
 * of docs/deploy.md: the command's prefix, then the option's longest name without its dashes, in
 * upper case with dashes as underscores, the prefix's word not repeated ({@code --metrics-port} of
 * advantage-stream is {@code ADVANTAGE_METRICS_PORT}, {@code --actor-id} of actor-service run is
 * {@code ACTOR_ID}).
 */
class EnvironmentOptionsTest {

    /** The service commands, by their path under {@code rollout}, and the prefix of their variables. */
    static final Map<String, String> PREFIXES = new LinkedHashMap<>();

    static {
        PREFIXES.put("broker", "BROKER_");
        PREFIXES.put("env-service serve", "ENV_SERVICE_");
        PREFIXES.put("actor-service run", "ACTOR_");
        PREFIXES.put("learner-service advantage-stream", "ADVANTAGE_");
        PREFIXES.put("learner-service train", "TRAIN_");
    }

    /** The rule: prefix, then the name in upper snake case; a name starting with the prefix's word keeps it once. */
    static String variable(String prefix, String option) {
        String bare = option.replaceFirst("^-+", "").toUpperCase(Locale.ROOT).replace('-', '_');
        return bare.startsWith(prefix) ? bare : prefix + bare;
    }

    /** The command at {@code path} (e.g. "learner-service train") of a fresh {@code rollout} command line. */
    static CommandSpec command(String path) {
        CommandLine cli = RolloutCommand.commandLine();
        for (String name : path.split(" ")) {
            cli = cli.getSubcommands().get(name);
            assertThat(cli).as("rollout %s", path).isNotNull();
        }
        return cli.getCommandSpec();
    }

    /** The options a user sets: all but --help and --version. */
    static List<OptionSpec> settable(CommandSpec spec) {
        return spec.options().stream().filter(o -> !o.usageHelp() && !o.versionHelp()).toList();
    }

    /** The variable of every settable option of every service command: "path option" to variable. */
    private static Map<String, String> everyVariable() {
        Map<String, String> variables = new LinkedHashMap<>();
        PREFIXES.forEach((path, prefix) -> {
            for (OptionSpec option : settable(command(path))) {
                variables.put(path + " " + option.longestName(), variable(prefix, option.longestName()));
            }
        });
        return variables;
    }

    @Test
    void shouldDeclareTheVariableOfEveryOptionInItsDefaultAndHelp() {
        Map<String, String> missing = new LinkedHashMap<>();
        PREFIXES.forEach((path, prefix) -> {
            CommandSpec spec = command(path);
            for (OptionSpec option : settable(spec)) {
                String name = variable(prefix, option.longestName());
                String declared = option.toBuilder().defaultValue();
                boolean reads = declared != null
                        && (declared.startsWith("${env:" + name + "}") || declared.startsWith("${env:" + name + ":-"));
                boolean told = String.join(" ", option.description()).contains("env " + name);
                if (!reads || !told) {
                    missing.put(path + " " + option.longestName(), name + (reads ? " not in its help" : " not read: " + declared));
                }
            }
        });
        assertThat(missing).as("options without their variable").isEmpty();
    }

    @Test
    void shouldGiveNoTwoOptionsOfACommandOneVariable() {
        PREFIXES.forEach((path, prefix) -> {
            Map<String, String> owners = new HashMap<>();
            for (OptionSpec option : settable(command(path))) {
                String previous = owners.put(variable(prefix, option.longestName()), option.longestName());
                assertThat(previous).as("%s: %s and %s share a variable", path, previous, option.longestName()).isNull();
            }
        });
    }

    /**
     * Sets every variable in a JVM of its own (a process cannot change its own environment) and
     * has picocli resolve each option's default there, as a container's process would.
     */
    @Test
    void shouldTakeEveryOptionFromItsVariableInAProcess() throws IOException, InterruptedException {
        Map<String, String> variables = everyVariable();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-cp", classpath, Print.class.getName());
        variables.values().forEach(name -> builder.environment().put(name, marker(name)));
        builder.redirectErrorStream(true);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(out).isZero();

        Map<String, String> resolved = new LinkedHashMap<>();
        out.lines().filter(l -> l.contains("\t")).forEach(l -> {
            String[] parts = l.split("\t", 2);
            resolved.put(parts[0], parts[1]);
        });
        Map<String, String> wrong = new LinkedHashMap<>();
        variables.forEach((option, name) -> {
            String value = resolved.get(option);
            if (!marker(name).equals(value)) {
                wrong.put(option, name + " set, default resolved to " + value);
            }
        });
        assertThat(wrong).as("options that did not take their variable").isEmpty();
    }

    private static String marker(String variable) {
        return "set-by-" + variable;
    }

    /** The child of {@link #shouldTakeEveryOptionFromItsVariableInAProcess}: "path option TAB default" per option. */
    static final class Print {
        public static void main(String[] args) {
            List<String> lines = new ArrayList<>();
            for (String path : PREFIXES.keySet()) {
                for (OptionSpec option : settable(command(path))) {
                    lines.add(path + " " + option.longestName() + "\t" + option.defaultValue());
                }
            }
            lines.forEach(System.out::println);
        }
    }
}
