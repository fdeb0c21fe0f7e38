package ai.factory.storage;

import static java.util.Objects.requireNonNull;

import ai.factory.ErrorCode;
import ai.factory.FactoryException;
import ai.factory.Json;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One factory per home: an exclusive lock on {@code run/factory.lock}, taken before anything in the home is read or
 * written and held until the factory has shut down and removed {@code run/server.json}. A second start on the same
 * home is refused while the first holds it, naming the first (its pid and URL), so it never touches the first's
 * database, files or lock.
 *
 * <p>The lock is the operating system's (through {@link FileChannel#tryLock()}), so it ends with its process however
 * the process ends: a {@code server.json} that a killed factory left behind blocks nothing, and the next start
 * replaces it. The file itself holds the holder's pid, for the refusal's message while the holder is still starting
 * and has no URL yet.
 */
public final class HomeLock implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private HomeLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code home} for this process, creating it and its {@code run} folder owner-only where missing.
     *
     * @param serverFile where a running factory records its URL and pid, for naming it in a refusal
     * @throws FactoryException CONFLICT when another factory holds the home; INVALID_REQUEST when it cannot be locked
     */
    public static HomeLock acquire(Path home, Path serverFile) {
        requireNonNull(serverFile, "serverFile is null");
        Path dir = requireNonNull(home, "home is null").toAbsolutePath().normalize();
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "the factory home " + dir + " is not a folder");
        }
        Path file = dir.resolve("run").resolve("factory.lock");
        FileChannel channel = null;
        try {
            PrivateFiles.createDirectories(dir.resolve("run"));
            channel = FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE), PrivateFiles.fileAttribute());
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by this very process, through another channel: another factory in this JVM
            }
            if (lock == null) {
                channel.close();
                throw new FactoryException(ErrorCode.CONFLICT, refusal(dir, file, serverFile));
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return new HomeLock(file, channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot lock the factory home " + dir + " (" + file
                    + "): " + e.getMessage(), e);
        }
    }

    /**
     * Waits for, then holds, the lock of a site folder that several control-plane replicas share ({@code
     * cluster.site}, {@code .lock} in it), so that one at a time makes what is missing there (the master keystore, the
     * audit key, the CAs) and the others find it made. Released by closing.
     */
    public static AutoCloseable site(Path site) {
        Path dir = requireNonNull(site, "site is null").toAbsolutePath().normalize();
        Path file = dir.resolve(".lock");
        try {
            PrivateFiles.createDirectories(dir);
            FileChannel channel = FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE), PrivateFiles.fileAttribute());
            while (true) {
                FileLock lock;
                try {
                    lock = channel.lock();
                } catch (OverlappingFileLockException e) {
                    // another factory in this very process makes it: wait for that one
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException stop) {
                        Thread.currentThread().interrupt();
                        closeQuietly(channel);
                        throw new FactoryException(ErrorCode.UNAVAILABLE, "interrupted waiting for " + file);
                    }
                    continue;
                }
                FileLock held = lock;
                return () -> {
                    held.release();
                    channel.close();
                };
            }
        } catch (IOException e) {
            throw new FactoryException(ErrorCode.INVALID_REQUEST, "cannot lock the site folder " + dir + " (" + file
                    + "): " + e.getMessage(), e);
        }
    }

    /** Says which factory holds the home and what to do, from what it recorded; never fails for want of it. */
    private static String refusal(Path home, Path lockFile, Path serverFile) {
        Optional<JsonNode> server = readJson(serverFile);
        String pid = server.map(s -> s.path("pid").asText("")).filter(p -> !p.isBlank())
                .or(() -> readString(lockFile).map(String::strip).filter(p -> !p.isEmpty()))
                .orElse("unknown");
        String where = server.map(s -> s.path("url").asText("")).filter(u -> !u.isBlank())
                .map(url -> "at " + url).orElse("(still starting: no URL recorded yet)");
        return "another factory is running on the home " + home + ": pid " + pid + " " + where + "; stop it first"
                + (pid.equals("unknown") ? "" : " (kill " + pid + ")") + ", or start this one with a home of its own "
                + "(--home or FACTORY_HOME); nothing of the running one was touched";
    }

    private static Optional<JsonNode> readJson(Path file) {
        return readString(file).flatMap(text -> {
            try {
                return Optional.of(Json.mapper().readTree(text));
            } catch (IOException e) {
                return Optional.empty();
            }
        });
    }

    private static Optional<String> readString(Path file) {
        try {
            return Optional.of(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static void closeQuietly(@Nullable FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the lock, if any, goes with the channel either way
            }
        }
    }

    /** The lock file, {@code run/factory.lock} under the home. */
    public Path file() {
        return file;
    }

    /** Releases the home for the next factory. The file stays: deleting it would race with a start taking it. */
    @Override
    public void close() {
        if (!channel.isOpen()) {
            return;
        }
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot release " + file, e);
        }
    }
}
