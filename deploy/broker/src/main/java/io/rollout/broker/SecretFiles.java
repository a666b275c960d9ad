package io.rollout.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Passwords and client configurations that hold them live in files readable by their owner
 * only, never on a command line, where {@code ps} shows them to every user of the machine.
 */
public final class SecretFiles {

    private SecretFiles() {
    }

    /**
     * The first line of {@code file}, without its line terminator: a password file as written
     * by {@code echo}, {@code openssl rand} or a Kubernetes secret mount.
     *
     * @param what names the file in the error, e.g. {@code --scram-password-file}
     * @throws IllegalArgumentException if the file cannot be read or its first line is empty;
     *     the message names the file, never its content
     */
    public static String read(Path file, String what) {
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")", e);
        }
        int end = content.indexOf('\n');
        String line = end < 0 ? content : content.substring(0, end);
        if (line.endsWith("\r")) {
            line = line.substring(0, line.length() - 1);
        }
        if (line.isEmpty()) {
            throw new IllegalArgumentException(what + ": " + file + " is empty; its first line is the secret");
        }
        return line;
    }

    /**
     * Writes {@code content} to {@code file} (replacing it atomically) with permissions
     * {@code rw-------} where the file system has POSIX permissions.
     */
    public static void write(Path file, String content) {
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = posix()
                    ? Files.createTempFile(dir, ".secret-", ".tmp",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                    : Files.createTempFile(dir, ".secret-", ".tmp");
            try {
                Files.writeString(tmp, content, StandardCharsets.UTF_8);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** Makes an existing file readable by its owner only, where the file system has POSIX permissions. */
    public static void restrict(Path file) {
        if (!posix()) {
            return;
        }
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restrict the permissions of " + file, e);
        }
    }

    static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }
}
