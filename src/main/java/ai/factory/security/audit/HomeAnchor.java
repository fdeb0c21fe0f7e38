package ai.factory.security.audit;

import static java.util.Objects.requireNonNull;

import ai.factory.config.DatabaseConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

/**
 * The factory's own anchor, {@code $FACTORY_HOME/audit.anchor}: the newest digest it knows to be durable, written
 * outside the database so that someone who can write only the database cannot cut the chain back unnoticed. Each
 * start and {@code factory audit verify --home} check that the chain still reaches it.
 *
 * <p>The file names the database it belongs to (its URL without options or password), and is ignored for any
 * other: pointing a home at a new, empty database is not a truncation. It is written at a clean shutdown, after the
 * closing digest, and while running for a digest once it is {@link AuditLog#ANCHOR_DELAY} old: embedded H2 can lose
 * the commits of the last second when the process is killed, and an anchor ahead of the database would stop the
 * next start.
 */
public final class HomeAnchor {
    private static final String DATABASE = "database ";
    private static final String HEADER = """
            # The newest signed audit digest this factory knows to be durable. Every start and 'factory audit verify'
            # check that the chain still reaches it; see docs/audit.md.
            """;

    private final Path file;
    private final String database;

    public HomeAnchor(Path file, DatabaseConfig database) {
        this.file = requireNonNull(file, "file is null");
        this.database = identity(requireNonNull(database, "database is null"));
    }

    public Path file() {
        return file;
    }

    /** The anchor kept for this database, if any; a damaged file is an error, never silently skipped. */
    public Optional<AuditAnchor> read() {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the audit anchor " + file, e);
        }
        String forDatabase = null;
        AuditAnchor anchor = null;
        try {
            for (String line : lines) {
                if (line.startsWith(DATABASE)) {
                    forDatabase = line.substring(DATABASE.length()).strip();
                } else if (line.startsWith(AuditAnchor.PREFIX + ":")) {
                    anchor = AuditAnchor.parse(line);
                }
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the audit anchor " + file + " is damaged: " + e.getMessage(), e);
        }
        if (forDatabase == null || anchor == null) {
            throw new IllegalStateException("the audit anchor " + file + " is damaged: it needs a 'database' line "
                    + "and an anchor line");
        }
        return forDatabase.equals(database) ? Optional.of(anchor) : Optional.empty();
    }

    /** Replaces the file atomically. */
    public void write(AuditAnchor anchor) {
        requireNonNull(anchor, "anchor is null");
        try {
            Path dir = file.toAbsolutePath().getParent();
            Path tmp = Files.createTempFile(dir, "audit", ".anchor.tmp");
            Files.writeString(tmp, HEADER + DATABASE + database + "\n" + anchor.text() + "\n");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the audit anchor " + file, e);
        }
    }

    /** Which database an anchor is for: the URL without H2's options or any password. */
    static String identity(DatabaseConfig config) {
        String url = config.redactedUrl();
        return config.vendor().equals("h2") && url.indexOf(';') > 0 ? url.substring(0, url.indexOf(';')) : url;
    }
}
