package ai.factory.storage;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Files and folders that only their owner may read: folders {@code 0700}, files {@code 0600}. Permissions are set
 * explicitly rather than left to the process umask, which the factory does not choose (a shell's default of 022 makes
 * everything readable by every local user). On a file system without POSIX permissions these do nothing more than
 * create and write.
 */
public final class PrivateFiles {
    public static final Set<PosixFilePermission> FOLDER = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
    /** What no one but the owner may have. */
    private static final Set<PosixFilePermission> OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final boolean POSIX = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");

    private PrivateFiles() {}

    /** Whether permissions can be set here at all. */
    public static boolean posix() {
        return POSIX;
    }

    /** The attribute that creates a file {@code 0600} (still subject to the umask, which can only take away). */
    public static FileAttribute<?>[] fileAttribute() {
        return POSIX ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE)} : new FileAttribute<?>[0];
    }

    /** Creates {@code dir} and any missing parents, each {@code 0700}; one that exists is left as it is. */
    public static void createDirectories(Path dir) throws IOException {
        requireNonNull(dir, "dir is null");
        Path absolute = dir.toAbsolutePath().normalize();
        List<Path> missing = new ArrayList<>();
        for (Path p = absolute; p != null && !Files.isDirectory(p); p = p.getParent()) {
            missing.addFirst(p);
        }
        for (Path p : missing) {
            try {
                Files.createDirectory(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (!Files.isDirectory(p)) {
                    throw e;
                }
                continue; // made meanwhile by someone else; theirs to set
            }
            if (POSIX) {
                Files.setPosixFilePermissions(p, FOLDER);
            }
        }
    }

    /** Writes {@code content} to {@code file} as {@code 0600}, replacing an earlier one atomically. */
    public static void write(Path file, String content) throws IOException {
        requireNonNull(content, "content is null");
        Path parent = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".tmp", fileAttribute());
        try {
            if (POSIX) {
                Files.setPosixFilePermissions(tmp, FILE);
            }
            Files.writeString(tmp, content);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Takes every permission of group and others away from {@code root} and everything under it (links are not
     * followed), keeping the owner's; returns what was wider, as {@code path (mode)}, in the order visited.
     *
     * @throws IOException when one cannot be read or changed (not the owner, a read-only file system)
     */
    public static List<String> narrow(Path root) throws IOException {
        requireNonNull(root, "root is null");
        List<String> narrowed = new ArrayList<>();
        if (!POSIX || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return narrowed;
        }
        Files.walkFileTree(root.toRealPath(), new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                narrowOne(dir, narrowed);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isRegularFile() || attrs.isDirectory()) {
                    narrowOne(file, narrowed);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof java.nio.file.NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // removed while walking (a temporary file)
                }
                throw e;
            }
        });
        return narrowed;
    }

    private static void narrowOne(Path path, List<String> narrowed) throws IOException {
        Set<PosixFilePermission> mode;
        try {
            mode = Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        }
        Set<PosixFilePermission> owner = EnumSet.noneOf(PosixFilePermission.class);
        owner.addAll(mode);
        if (owner.removeAll(OTHERS)) {
            Files.setPosixFilePermissions(path, owner);
            narrowed.add(path + " (" + octal(mode) + ")");
        }
    }

    /** A mode as {@code ls} and {@code chmod} write it, e.g. {@code 0755}. */
    public static String octal(Set<PosixFilePermission> mode) {
        int bits = 0;
        for (PosixFilePermission p : mode) {
            bits |= 1 << (8 - p.ordinal());
        }
        return "0" + Integer.toOctalString(bits);
    }
}
