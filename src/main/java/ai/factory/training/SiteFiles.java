package ai.factory.training;

import static java.util.Objects.requireNonNull;

import ai.factory.FactoryException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The server's own files that a request may name with a {@code file:///abs/path} URI: only those under the configured
 * import root ({@code models.importRoot}), checked on their real path so a link cannot lead out of it. An
 * {@code s3://} URI is refused, as no S3-compatible store is configured for this.
 */
public record SiteFiles(Optional<Path> root) {
    public SiteFiles {
        requireNonNull(root, "root is null");
    }

    /** Whether {@code uri} is a {@code file:} URI (any case), which {@link #file} and {@link #folder} take. */
    public static boolean isFile(String uri) {
        return uri.regionMatches(true, 0, "file:", 0, 5);
    }

    /** The regular file {@code uri} names under the root; INVALID_REQUEST naming {@code field} otherwise. */
    public Path file(String uri, String field) {
        Path path = path(uri, field);
        try {
            Path real = path.toRealPath();
            requireUnderRoot(real, path, field);
            if (!Files.isRegularFile(real)) {
                throw FactoryException.invalidParam(field, "'" + field + "': " + path + " is not a file");
            }
            return real;
        } catch (NoSuchFileException e) {
            requireUnderRoot(path, path, field);
            throw FactoryException.invalidParam(field, "'" + field + "': no such file on the server: " + path);
        } catch (IOException e) {
            throw FactoryException.invalidParam(field, "'" + field + "': cannot read " + path + ": " + e.getMessage());
        }
    }

    /**
     * The folder {@code uri} names under the root: one that exists, or one that can be made there (its nearest
     * existing ancestor is under the root and a folder).
     */
    public Path folder(String uri, String field) {
        Path path = path(uri, field);
        Path existing = path;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            throw outsideRoot(path, field);
        }
        try {
            Path real = existing.toRealPath();
            requireUnderRoot(real, path, field);
            if (!Files.isDirectory(real)) {
                throw FactoryException.invalidParam(field, "'" + field + "': " + existing + " is not a folder");
            }
            return real.resolve(existing.relativize(path)).normalize();
        } catch (IOException e) {
            throw FactoryException.invalidParam(field, "'" + field + "': cannot read " + existing + ": "
                    + e.getMessage());
        }
    }

    private Path path(String text, String field) {
        URI uri;
        try {
            uri = URI.create(text);
        } catch (IllegalArgumentException e) {
            throw FactoryException.invalidParam(field, "'" + field + "': '" + text + "' is not a valid URI");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("s3")) {
            throw FactoryException.invalidParam(field, "'" + field + "': S3 locations need an S3-compatible store, "
                    + "and none is configured; give a file:///path under the import root instead");
        }
        if (!scheme.equals("file") || uri.getPath() == null || uri.getPath().isEmpty()) {
            throw FactoryException.invalidParam(field, "'" + field + "': '" + text
                    + "' is not a file:///absolute/path");
        }
        if (root.isEmpty()) {
            throw FactoryException.invalidParam(field, "'" + field + "': reading and writing the "
                + "server's files is off; set models.importRoot (FACTORY_IMPORT_ROOT) to the folder they may be under");
        }
        return Path.of(uri.getPath()).toAbsolutePath().normalize();
    }

    private void requireUnderRoot(Path real, Path shown, String field) {
        Path base = root.orElseThrow();
        try {
            if (!real.startsWith(base.toRealPath()) && !real.startsWith(base.toAbsolutePath().normalize())) {
                throw outsideRoot(shown, field);
            }
        } catch (IOException e) {
            throw outsideRoot(shown, field);
        }
    }

    private FactoryException outsideRoot(Path path, String field) {
        return FactoryException.invalidParam(field, "'" + field + "': " + path + " is outside the import root "
                + root.orElseThrow() + "; only files under it can be used");
    }
}
