package io.rollout.learner.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoint directories {@code ckpt-<version>} under one root, each written whole or not at
 * all: the content goes to a temporary directory, every file and the directory are fsynced,
 * the directory is renamed into place atomically and the root is fsynced. A crash leaves at
 * most a {@code .tmp-} directory, which the next write removes.
 *
 * <p>A checkpoint of a version already on disk (a restart that checkpoints before its first
 * update) replaces the old one by renames only: the old directory is renamed aside to
 * {@code .replaced-ckpt-<version>}, the new one renamed into place, then the old one deleted.
 * Whenever the process dies, one of the two is complete under a known name, and opening the
 * store puts the old one back if the new one never arrived.
 */
public final class CheckpointStore {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
    private static final Pattern NAME = Pattern.compile("ckpt-(\\d{12})");

    /** Fills a temporary directory with a checkpoint's files. */
    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    /** Named points of a write, where tests stop it as a kill would. */
    interface Probe {
        void reached(String point) throws IOException;
    }

    private static final String REPLACED = ".replaced-";

    private final Path root;
    private final int keep;
    private final Probe probe;

    public CheckpointStore(Path root, int keep) {
        this(root, keep, point -> { });
    }

    CheckpointStore(Path root, int keep, Probe probe) {
        if (keep < 1) {
            throw new IllegalArgumentException("keep-checkpoints must be >= 1, got " + keep);
        }
        this.root = root;
        this.keep = keep;
        this.probe = probe;
        try {
            Files.createDirectories(root);
            recoverReplacements();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open checkpoint directory " + root, e);
        }
    }

    /** Writes version {@code version}'s checkpoint atomically and keeps the newest {@code keep}. */
    public Path write(long version, Writer writer) {
        Path target = root.resolve(String.format("ckpt-%012d", version));
        Path tmp = root.resolve(".tmp-" + target.getFileName() + "-" + System.nanoTime());
        try {
            removeLeftovers();
            Files.createDirectories(tmp);
            writer.write(tmp);
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    fsync(p);
                }
            }
            probe.reached("written");
            Path aside = null;
            if (Files.exists(target)) {
                // The same version again: the old one stays whole, under another name, until the new one is in place.
                aside = root.resolve(REPLACED + target.getFileName());
                deleteTree(aside);
                rename(target, aside);
                fsync(root);
                probe.reached("old-aside");
            }
            rename(tmp, target);
            fsync(root);
            probe.reached("new-in-place");
            if (aside != null) {
                deleteTree(aside);
            }
            prune();
            return target;
        } catch (IOException e) {
            try {
                deleteTree(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new UncheckedIOException("cannot write checkpoint " + target, e);
        }
    }

    /** The newest complete checkpoint directory, if any. */
    public Optional<Path> latest() {
        List<Path> all = checkpoints();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> checkpoints() {
        try (Stream<Path> entries = Files.list(root)) {
            return entries.filter(p -> NAME.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p))
                    .sorted(Comparator.comparingLong(CheckpointStore::versionOf))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
    }

    /** The version a checkpoint directory holds. */
    public static long versionOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(checkpoint + " is not a checkpoint directory");
        }
        return Long.parseLong(m.group(1));
    }

    private void prune() throws IOException {
        List<Path> all = checkpoints();
        for (int i = 0; i < all.size() - keep; i++) {
            deleteTree(all.get(i));
        }
    }

    private static void rename(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the checkpoint directory's file system cannot rename atomically", e);
        }
    }

    /** Finishes replacements a crash interrupted: puts the old checkpoint back, or drops it. */
    private void recoverReplacements() throws IOException {
        List<Path> asides;
        try (Stream<Path> entries = Files.list(root)) {
            asides = entries.filter(p -> p.getFileName().toString().startsWith(REPLACED)).toList();
        }
        for (Path aside : asides) {
            Path target = root.resolve(aside.getFileName().toString().substring(REPLACED.length()));
            if (Files.exists(target)) {
                deleteTree(aside);
            } else {
                LOG.warn("a crash interrupted the replacement of {}: putting the previous one back", target);
                rename(aside, target);
                fsync(root);
            }
        }
    }

    private void removeLeftovers() throws IOException {
        try (Stream<Path> entries = Files.list(root)) {
            for (Path p : entries.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList()) {
                LOG.info("removing an incomplete checkpoint left by a crash: {}", p);
                deleteTree(p);
            }
        }
    }

    private static void fsync(Path p) throws IOException {
        boolean dir = Files.isDirectory(p);
        try (FileChannel ch = FileChannel.open(p, dir ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
