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
}
