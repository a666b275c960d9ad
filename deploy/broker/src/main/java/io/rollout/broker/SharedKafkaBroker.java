package io.rollout.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * One embedded broker per JVM, started on first use in a temporary directory and stopped
 * (and its directory deleted) when the JVM exits. Integration tests of every module share
 * it, so a test run pays the broker's start-up once; tests isolate themselves by topic
 * and group names.
 */
public final class SharedKafkaBroker {

    private static EmbeddedKafkaBroker broker;

    private SharedKafkaBroker() {
    }

    public static synchronized EmbeddedKafkaBroker get() {
        if (broker == null) {
            try {
                Path dir = Files.createTempDirectory("rollout-broker-");
                broker = EmbeddedKafkaBroker.builder().dataDir(dir).port(0).start();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    broker.close();
                    deleteRecursively(dir);
                }, "shared-kafka-broker-shutdown"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a directory for the shared broker", e);
            }
        }
        return broker;
    }

    /** {@code bootstrap.servers} of the shared broker, starting it if needed. */
    public static String bootstrapServers() {
        return get().bootstrapServers();
    }

    static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort at JVM exit: a leftover temp directory is harmless.
        }
    }
}
