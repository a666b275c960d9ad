package io.rollout.learner.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {

    @TempDir
    Path root;

    @Test
    void shouldWriteWholeCheckpointsKeepTheNewestAndFindTheLatest() {
        CheckpointStore store = new CheckpointStore(root, 2);
        for (long v : new long[] {2, 4, 6}) {
            store.write(v, dir -> Files.writeString(dir.resolve("state.json"), "{\"v\":" + v + "}"));
        }
        assertThat(store.checkpoints()).extracting(CheckpointStore::versionOf).containsExactly(4L, 6L);
        assertThat(store.latest()).get().extracting(CheckpointStore::versionOf).isEqualTo(6L);
        assertThat(store.latest().orElseThrow().resolve("state.json")).hasContent("{\"v\":6}");
    }

    @Test
    void shouldLeaveNothingBehindWhenAWriteFailsAndClearCrashLeftovers() throws IOException {
        CheckpointStore store = new CheckpointStore(root, 3);
        store.write(1, dir -> Files.writeString(dir.resolve("a"), "1"));
        assertThatThrownBy(() -> store.write(2, dir -> {
            Files.writeString(dir.resolve("a"), "half");
            throw new IOException("disk full");
        })).hasMessageContaining("ckpt-000000000002").hasRootCauseMessage("disk full");
        Files.createDirectories(root.resolve(".tmp-ckpt-000000000003-123"));
        assertThat(store.latest()).get().extracting(CheckpointStore::versionOf).isEqualTo(1L);
        store.write(3, dir -> Files.writeString(dir.resolve("a"), "3"));
        try (var entries = Files.list(root)) {
            assertThat(entries.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("ckpt-000000000001", "ckpt-000000000003");
        }
    }

    /** What a kill -9 does to a write: it stops there, with no clean-up. */
    static final class Killed extends RuntimeException {
    }

    /**
     * A checkpoint of a version already on disk is written again (a restart checkpoints before
     * its first update). Whichever point of that write the process dies at, the store opened
     * afterwards has a complete checkpoint of the version: the old one or the new one.
     */
    @Test
    void shouldKeepAWholeCheckpointOfAVersionWhereverItsRewriteIsKilled() throws IOException {
        for (String point : new String[] {"written", "old-aside", "new-in-place"}) {
            Path dir = Files.createTempDirectory(root, "kill-at-" + point);
            new CheckpointStore(dir, 1).write(5, d -> {
                Files.writeString(d.resolve("a"), "old");
                Files.writeString(d.resolve("b"), "old");
            });
            CheckpointStore dying = new CheckpointStore(dir, 1, reached -> {
                if (reached.equals(point)) {
                    throw new Killed();
                }
            });
            assertThatThrownBy(() -> dying.write(5, d -> {
                Files.writeString(d.resolve("a"), "new");
                Files.writeString(d.resolve("b"), "new");
            })).isInstanceOf(Killed.class);

            CheckpointStore reopened = new CheckpointStore(dir, 1);
            Path latest = reopened.latest().orElseThrow(() -> new AssertionError("no checkpoint after a kill at " + point));
            assertThat(CheckpointStore.versionOf(latest)).isEqualTo(5L);
            String a = Files.readString(latest.resolve("a"));
            assertThat(Files.readString(latest.resolve("b"))).as("killed at " + point).isEqualTo(a);
            assertThat(a).isEqualTo(point.equals("new-in-place") ? "new" : "old");
            reopened.write(6, d -> Files.writeString(d.resolve("a"), "6"));
            try (var entries = Files.list(dir)) {
                assertThat(entries.map(p -> p.getFileName().toString())).as("no leftovers after the next write")
                        .containsExactly("ckpt-000000000006");
            }
        }
    }
}
