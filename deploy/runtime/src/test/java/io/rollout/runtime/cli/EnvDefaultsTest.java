package io.rollout.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

class EnvDefaultsTest {

    /** A mixin whose marked option, under the prefix "HO", reads HOME, which every test run has. */
    static final class HomeOption {
        @FromEnv
        @Option(names = "--me", defaultValue = "nobody", description = "Whose (default: ${DEFAULT-VALUE}).")
        String me;
    }

    @Command(name = "with-env", sortOptions = false, modelTransformer = WithEnv.Env.class)
    static final class WithEnv implements Runnable {
        @Option(names = "--first", description = "Declared first.")
        String first;

        @Mixin
        KafkaOptions kafka = new KafkaOptions();

        @Mixin
        ModelOptions model = new ModelOptions();

        @Mixin
        HomeOption home = new HomeOption();

        @Option(names = "--last", description = "Declared last.")
        String last;

        @Override
        public void run() {
        }

        static final class Env extends EnvDefaults {
            Env() {
                super("HO");
            }
        }
    }

    @Command(name = "every", mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = Every.Env.class)
    static final class Every implements Runnable {
        @Option(names = "--plain", defaultValue = "7", description = "Not marked (default: ${DEFAULT-VALUE}).")
        int plain;

        @Option(names = "--own", defaultValue = "${env:EV_OWN:-x}", description = "Its own already (default: ${DEFAULT-VALUE}; env EV_OWN).")
        String own;

        @Option(names = "--shared", defaultValue = "${env:HOME}", description = "Another variable (env HOME).")
        String shared;

        @Option(names = "--ev-id", description = "Starts with the prefix's word.")
        String id;

        @Option(names = "--flag", description = "A flag.")
        boolean flag;

        @Mixin
        KafkaOptions kafka = new KafkaOptions();

        @Override
        public void run() {
        }

        static final class Env extends EnvDefaults {
            Env() {
                super("EV_", Scope.EVERY_OPTION);
            }
        }
    }

    @Test
    void shouldTakeEveryOptionOfACommandWithEveryOptionScopeFromItsVariable() {
        CommandLine cli = new CommandLine(new Every());

        assertThat(declaredDefault(cli, "--plain")).isEqualTo("${env:EV_PLAIN:-7}");
        assertThat(declaredDefault(cli, "--own")).as("kept").isEqualTo("${env:EV_OWN:-x}");
        assertThat(declaredDefault(cli, "--shared")).as("its own first, then the other")
                .isEqualTo("${env:EV_SHARED:-${env:HOME}}");
        assertThat(declaredDefault(cli, "--ev-id")).isEqualTo("${env:EV_ID}");
        assertThat(declaredDefault(cli, "--flag")).isEqualTo("${env:EV_FLAG}");
        assertThat(declaredDefault(cli, "--kafka")).as("unmarked mixin option").isEqualTo("${env:EV_KAFKA}");
        assertThat(declaredDefault(cli, "--bootstrap")).isEqualTo("${env:EV_BOOTSTRAP}");
        assertThat(declaredDefault(cli, "--help")).isNull();
        assertThat(declaredDefault(cli, "--version")).isNull();

        Every command = new Every();
        new CommandLine(command).parseArgs();
        assertThat(command.plain).isEqualTo(7);
        assertThat(command.shared).as("EV_SHARED is unset").isEqualTo(System.getenv("HOME"));
        assertThat(command.flag).isFalse();

        String help = cli.getUsageMessage().replaceAll("\\s+", " ");
        assertThat(help).contains("Not marked (default: 7; env EV_PLAIN).", "(env EV_SHARED, else HOME).",
                "Starts with the prefix's word (env EV_ID).", "(default: x; env EV_OWN).");
        assertThat(listed(cli.getUsageMessage())).extracting(l -> l.split("\\s+")[0])
                .startsWith("--plain", "--own", "--shared", "--ev-id", "--flag");
    }

    @Command(name = "without-env", sortOptions = false)
    static final class WithoutEnv implements Runnable {
        @Mixin
        KafkaOptions kafka = new KafkaOptions();

        @Mixin
        ModelOptions model = new ModelOptions();

        @Override
        public void run() {
        }
    }

    @Test
    void shouldTakeAMarkedOptionFromThePrefixedVariableAndFallBackToItsOwnDefault() {
        WithEnv command = new WithEnv();
        new CommandLine(command).parseArgs();

        assertThat(command.home.me).isEqualTo(System.getenv("HOME"));
        assertThat(command.model.device()).as("HODEVICE is unset").isEqualTo("cpu");
        assertThat(command.model.dtype()).isEqualTo("auto");
        assertThat(command.model.model()).isNull();
        assertThat(command.kafka.prefix()).isEmpty();

        WithEnv given = new WithEnv();
        new CommandLine(given).parseArgs("--me", "you", "--device", "gpu:1", "--prefix", "run7.");
        assertThat(given.home.me).isEqualTo("you");
        assertThat(given.model.device()).isEqualTo("gpu:1");
        assertThat(given.kafka.topics().steps().name()).isEqualTo("run7.rollout.steps");
    }

    @Test
    void shouldDeclareTheSameDefaultsAsAnEnvVariableInTheAnnotation() {
        CommandLine cli = new CommandLine(new WithEnv());

        assertThat(declaredDefault(cli, "--bootstrap")).isEqualTo("${env:HOBOOTSTRAP}");
        assertThat(declaredDefault(cli, "--kafka-config")).isEqualTo("${env:HOKAFKA_CONFIG}");
        assertThat(declaredDefault(cli, "--prefix")).isEqualTo("${env:HOPREFIX:-}");
        assertThat(declaredDefault(cli, "--device")).isEqualTo("${env:HODEVICE:-cpu}");
        assertThat(declaredDefault(cli, "--kafka")).as("not marked").isNull();
    }

    /** The default as declared, before picocli looks up its variables. */
    private static String declaredDefault(CommandLine cli, String option) {
        return cli.getCommandSpec().findOption(option).toBuilder().defaultValue();
    }

    /** The options in the order the help lists them. */
    private static List<String> listed(String help) {
        return help.lines().filter(l -> l.startsWith("      --")).map(l -> l.strip().split("=")[0]).toList();
    }

    @Test
    void shouldNameTheVariableInTheHelpAndKeepTheDeclaredOrder() {
        String usage = new CommandLine(new WithEnv()).getUsageMessage();
        String help = usage.replaceAll("\\s+", " ");

        assertThat(help).contains("Kafka bootstrap servers (env HOBOOTSTRAP).",
                "--kafka and --bootstrap take precedence (env HOKAFKA_CONFIG).",
                "(env HOPREFIX).", "tokenizer.json) (env HOMODEL).", "(default: cpu; env HODEVICE).",
                "(default: auto; env HODTYPE).", "Whose (default: " + System.getenv("HOME") + "; env HOME).");
        assertThat(help).doesNotContain("HOKAFKA.");
        assertThat(listed(usage)).containsExactly("--first", "--bootstrap", "--kafka", "--kafka-config", "--prefix",
                "--model", "--device", "--dtype", "--me", "--last");
    }

    @Test
    void shouldLeaveACommandWithoutEnvDefaultsAlone() {
        CommandLine cli = new CommandLine(new WithoutEnv());

        assertThat(cli.getUsageMessage()).doesNotContain("(env", "; env");
        assertThat(declaredDefault(cli, "--bootstrap")).isNull();
        assertThat(declaredDefault(cli, "--device")).isEqualTo("cpu");
    }

    @Test
    void shouldMergeTheKafkaSettingsWithTheBootstrapLast() {
        WithoutEnv command = new WithoutEnv();
        new CommandLine(command).parseArgs("--kafka", "bootstrap.servers=a:1", "--kafka", "acks=all", "--bootstrap",
                "b:2");

        Properties props = command.kafka.properties();
        assertThat(props).containsEntry("bootstrap.servers", "b:2").containsEntry("acks", "all");
        WithoutEnv none = new WithoutEnv();
        new CommandLine(none).parseArgs();
        assertThatThrownBy(none.kafka::properties).hasMessageContaining("no Kafka bootstrap address");
    }

    @Test
    void shouldPutTheVariableInAClosingDefaultOrAfterTheText() {
        assertThat(EnvDefaults.describe(new String[] {"Port (default: ${DEFAULT-VALUE})."}, "P_PORT"))
                .containsExactly("Port (default: ${DEFAULT-VALUE}; env P_PORT).");
        assertThat(EnvDefaults.describe(new String[] {"A directory (config.json)."}, "P_DIR"))
                .containsExactly("A directory (config.json) (env P_DIR).");
        assertThat(EnvDefaults.describe(new String[] {"First line,", "second line"}, "P_X"))
                .containsExactly("First line,", "second line (env P_X)");
        assertThat(EnvDefaults.describe(new String[0], "P_X")).containsExactly("(env P_X)");
    }

    @Test
    void shouldNameTheVariableOfAnOption() {
        OptionSpec option = OptionSpec.builder("--kafka-config").build();
        assertThat(new WithEnv.Env().variable(option)).isEqualTo("HOKAFKA_CONFIG");
        assertThat(EnvDefaults.variable("ACTOR_", "--metrics-port")).isEqualTo("ACTOR_METRICS_PORT");
        assertThat(EnvDefaults.variable("ACTOR_", "--actor-id")).as("the prefix's word once").isEqualTo("ACTOR_ID");
        assertThat(EnvDefaults.variable("ENV_SERVICE_", "--env-url")).isEqualTo("ENV_SERVICE_ENV_URL");
    }
}
